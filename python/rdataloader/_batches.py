"""The iterable returned by ``as_numpy()`` and friends: ``len()`` batches, a fresh epoch per ``iter()``."""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np


class Batches:
    """Batches of one split in one output format.

    Every ``iter()`` runs a new epoch (newly shuffled); ``len()`` is the number of batches per epoch,
    so progress bars and frameworks that ask for a length work unchanged.
    """

    def __init__(self, loader, convert: Callable[[list[np.ndarray]], object], kind: str) -> None:
        self._loader = loader
        self._convert = convert
        self._kind = kind

    def __iter__(self) -> Iterator:
        engine, split = self._loader._engine_and_split()
        convert = self._convert
        for arrays in engine.epoch(split):
            yield convert(arrays)

    def __len__(self) -> int:
        return self._loader.num_batches

    def __repr__(self) -> str:
        return f"<{self._kind} batches of {self._loader!r}>"
