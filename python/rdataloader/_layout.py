"""What each batch contains: the blocks (features, targets, weights), their dtypes and shapes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Block:
    """One tensor of every batch."""

    name: str  # "features", "targets" or "weights"
    cxx_block: object  # ROOT::ML::EBlock value
    width: int
    rank: int
    dtype: np.dtype
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Layout:
    """The blocks present in every batch, in the order they are returned."""

    blocks: tuple[Block, ...]
