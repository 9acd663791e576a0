"""Batches as ``torch.Tensor``s: shared memory on the CPU, pinned and asynchronous copies to a GPU."""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import map_arrays, require


def _structure(tensors: list):
    return tensors[0] if len(tensors) == 1 else tuple(tensors)


def make_converter(device=None) -> Callable[[list[np.ndarray]], object]:
    """A function from a batch's arrays to tensors on ``device`` (CPU tensors share the memory)."""
    torch = require("torch", "torch")
    target = torch.device(device) if device is not None else torch.device("cpu")
    if target.type == "cpu":
        return lambda arrays: _structure([map_arrays(torch.from_numpy, a) for a in arrays])

    def copy(array: np.ndarray):
        # pin_memory() copies into page-locked memory from torch's caching host allocator, which
        # keeps each staging buffer alive until its asynchronous copy has completed.
        return torch.from_numpy(array).pin_memory().to(target, non_blocking=True)

    def to_device(arrays: list):
        return _structure([map_arrays(copy, a) for a in arrays])

    return to_device


def make_dataloader(batches):
    """A ``torch.utils.data.DataLoader`` that passes ``batches`` through unchanged, for code that
    insists on one (Keras 3 on the torch backend, some trainers). Each iteration is a new epoch."""
    torch = require("torch", "torch")

    class _Epochs(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(batches)

        def __len__(self):
            return len(batches)

    # batch_size=None: the items are already batches, to be handed over without collation.
    return torch.utils.data.DataLoader(_Epochs(), batch_size=None, num_workers=0)
