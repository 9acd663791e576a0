"""Batches as NumPy arrays that wrap the batch memory without copying it."""

from __future__ import annotations

import numpy as np

from .._layout import Layout


class _BatchMemory:
    """Exposes one block of a C++ batch through the array interface; the array's ``base`` is this
    object, which holds the batch, so the memory lives exactly as long as some array uses it."""

    __slots__ = ("_batch", "__array_interface__")

    def __init__(self, batch, address: int, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self._batch = batch
        self.__array_interface__ = {
            "version": 3,
            "shape": shape,
            "typestr": dtype.str,
            "data": (address, False),
        }


def block_arrays(batch, layout: Layout) -> list[np.ndarray]:
    """The arrays of one batch, in the order (features, targets, weights) of the blocks present."""
    rows = int(batch.GetNumRows())
    arrays = []
    for block in layout.blocks:
        shape = (rows,) if block.rank == 1 else (rows, block.width)
        memory = _BatchMemory(batch, int(batch.GetAddress(block.cxx_block)), shape, block.dtype)
        arrays.append(np.asarray(memory))
    return arrays


def to_numpy(arrays: list[np.ndarray]):
    """An array of features, or a tuple (x, y) / (x, y, w) when the loader has targets / weights."""
    return arrays[0] if len(arrays) == 1 else tuple(arrays)
