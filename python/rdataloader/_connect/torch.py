"""Batches as ``torch.Tensor``s: shared memory on the CPU, pinned and asynchronous copies to a GPU."""

from __future__ import annotations

import numbers
from typing import Callable

import numpy as np

from .._batches import Batches
from . import map_arrays, require

torch = require("torch", "torch")


def _structure(tensors: list):
    return tensors[0] if len(tensors) == 1 else tuple(tensors)


def make_converter(device=None) -> Callable[[list[np.ndarray]], object]:
    """A function from a batch's arrays to tensors on ``device`` (CPU tensors share the memory)."""
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


class TorchBatches(Batches, torch.utils.data.IterableDataset):
    """The batches of ``as_torch()``: a ``torch.utils.data.IterableDataset`` of whole batches, so that torch's
    ``DataLoader(batches, batch_size=None, num_workers=N, pin_memory=...)`` works as users wrap datasets.

    With ``num_workers=N`` (workers forked, torch's default on Linux), each worker reads its own whole
    batches of every epoch (of this rank's shard): together they deliver each entry once, and as many
    batches as ``len()``, which inside a worker is that worker's count. Every iteration of the DataLoader is
    a new epoch. Its order is drawn from ``set_seed`` and the epoch number: ``set_epoch(epoch)`` before each
    epoch sets it, as with torch's ``DistributedSampler`` (do so in distributed training, so that every
    rank reads the same epoch); without it, worker processes draw the epoch from torch's seed for that
    iteration of the DataLoader (``torch.manual_seed`` makes it reproducible).
    """

    _epoch: int | None = None

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration epoch number ``epoch`` (``DistributedSampler.set_epoch``'s convention)."""
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or not 0 <= epoch < 2**63:
            raise ValueError(f"epoch must be a non-negative integer; got {epoch!r}")
        engine, split = self._loader._engine_and_split()
        engine.set_epoch(split, int(epoch))
        self._epoch = int(epoch)

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        if info is not None:
            engine, _ = self._loader._engine_and_split()
            # torch gives worker i the seed base + i, with a base drawn for each iteration of the DataLoader.
            engine.join_workers(info.id, info.num_workers, None if self._epoch is not None else info.seed - info.id)
        return super().__iter__()


def make_dataloader(batches: TorchBatches):
    """A ``torch.utils.data.DataLoader`` that passes ``batches`` through unchanged, for code that
    insists on one (Keras 3 on the torch backend, some trainers). Each iteration is a new epoch."""
    # batch_size=None: the items are already batches, to be handed over without collation.
    return torch.utils.data.DataLoader(batches, batch_size=None, num_workers=0)
