"""Batches as a ``tf.data.Dataset`` that Keras can ``fit`` on directly, epoch after epoch."""

from __future__ import annotations

from typing import Iterator

from .._layout import Layout
from . import require

#: Batches handed to TensorFlow per call into the Python generator: at most GROUP_BATCHES, and no more
#: than GROUP_BYTES (each group is copied once more when stacked).
GROUP_BATCHES = 64
GROUP_BYTES = 16 * 1024 * 1024


def make_dataset(loader, layout: Layout):
    """A dataset over ``loader``'s split: each iteration (each Keras epoch) is a new loader epoch.

    With ``drop_remainder=False`` the batch dimension is ``None`` and the last batch holds exactly
    its real entries: no padding rows are invented. With collections, ``x`` is a dictionary, as in
    the other outputs, and Keras matches its keys to the names of the model's inputs.
    """
    tf = require("tensorflow", "tensorflow")
    spec = loader._spec
    rows = spec.batch_size if spec.drop_remainder else None
    signature = [
        tf.TensorSpec(shape=(rows,) if block.rank == 1 else (rows, block.width), dtype=tf.as_dtype(block.dtype))
        for block in layout.blocks
    ]
    if layout.collections:
        signature[0] = _inputs_signature(tf, layout, rows, signature[0])
    signature = signature[0] if len(signature) == 1 else tuple(signature)
    numpy_batches = loader.as_numpy()
    if any(c.packed for c in layout.collections):
        # Packed batches differ in their number of objects, so they cannot be stacked into groups.
        dataset = tf.data.Dataset.from_generator(lambda: iter(numpy_batches), output_signature=signature)
    else:
        grouped = tf.nest.map_structure(lambda s: tf.TensorSpec((None, *s.shape), s.dtype), signature)
        dataset = tf.data.Dataset.from_generator(lambda: _groups(tf, numpy_batches), output_signature=grouped)
        dataset = dataset.unbatch()
    # A known length lets Keras show progress and needs no steps_per_epoch.
    return dataset.apply(tf.data.experimental.assert_cardinality(len(numpy_batches)))


def _groups(tf, batches) -> Iterator:
    """The batches stacked a group at a time (a shorter last batch in a group of its own): every
    element of ``from_generator`` costs a call into Python, so each call hands over many batches."""
    import numpy as np

    def rows(batch) -> int:
        return len(tf.nest.flatten(batch)[0])

    def stack(group: list):
        return tf.nest.map_structure(lambda *parts: np.stack(parts), *group)

    group: list = []
    size = GROUP_BATCHES
    for batch in batches:
        if group and rows(batch) != rows(group[0]):
            yield stack(group)
            group = []
        if not group:
            nbytes = sum(a.nbytes for a in tf.nest.flatten(batch))
            size = max(1, min(GROUP_BATCHES, GROUP_BYTES // max(1, nbytes)))
        group.append(batch)
        if len(group) == size:
            yield stack(group)
            group = []
    if group:
        yield stack(group)


def _inputs_signature(tf, layout: Layout, rows, features) -> dict:
    """The dictionary that replaces the features when the loader has collections; a packed
    collection's number of objects varies from batch to batch."""
    inputs = {"features": features} if layout.blocks[0].columns else {}
    for c in layout.collections:
        if c.packed:
            inputs[c.name] = tf.TensorSpec(shape=(None, len(c.fields)), dtype=tf.as_dtype(c.dtype))
            inputs[c.index_key] = tf.TensorSpec(shape=(None if rows is None else rows + 1,), dtype=tf.int64)
        else:
            inputs[c.name] = tf.TensorSpec(shape=(rows, c.max_len, len(c.fields)), dtype=tf.as_dtype(c.dtype))
            inputs[c.index_key] = tf.TensorSpec(shape=(rows, c.max_len), dtype=tf.bool)
    return inputs
