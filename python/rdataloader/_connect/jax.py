"""Batches as ``jax.Array``s through DLPack."""

from __future__ import annotations

from . import map_arrays, require


def to_jax(arrays: list):
    """Wrap each array with ``jax.dlpack.from_dlpack``; JAX copies only if it cannot use the memory."""
    jax = require("jax", "jax")
    converted = [map_arrays(jax.dlpack.from_dlpack, a) for a in arrays]
    return converted[0] if len(converted) == 1 else tuple(converted)
