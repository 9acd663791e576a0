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


def _wrap(batch, address: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    return np.asarray(_BatchMemory(batch, address, shape, dtype))


def block_arrays(batch, layout: Layout) -> list:
    """The arrays of one batch, in the order (features, targets, weights) of the blocks present. With
    collections the features become a dictionary: ``"features"`` (if the loader has flat features),
    then per collection its values and its mask (padded) or offsets (packed)."""
    rows = int(batch.GetNumRows())
    arrays: list = []
    for block in layout.blocks:
        shape = (rows,) if block.rank == 1 else (rows, block.width)
        arrays.append(_wrap(batch, int(batch.GetAddress(block.cxx_block)), shape, block.dtype))
    if layout.collections:
        inputs = {"features": arrays[0]} if layout.blocks[0].columns else {}
        for c in layout.collections:
            fields = len(c.fields)
            values = int(batch.GetObjectsAddress(c.index))
            if c.packed:
                objects = int(batch.GetNumObjects(c.index))
                inputs[c.name] = _wrap(batch, values, (objects, fields), c.dtype)
                offsets = int(batch.GetOffsetsAddress(c.index))
                inputs[c.index_key] = _wrap(batch, offsets, (rows + 1,), np.dtype(np.int64))
            else:
                inputs[c.name] = _wrap(batch, values, (rows, c.max_len, fields), c.dtype)
                mask = int(batch.GetMaskAddress(c.index))
                inputs[c.index_key] = _wrap(batch, mask, (rows, c.max_len), np.dtype(np.bool_))
        arrays[0] = inputs
    return arrays


def to_numpy(arrays: list):
    """An array of features, or a tuple (x, y) / (x, y, w) when the loader has targets / weights; with
    collections, x is a dictionary of arrays."""
    return arrays[0] if len(arrays) == 1 else tuple(arrays)
