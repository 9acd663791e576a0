"""Batches as a ``tf.data.Dataset`` that Keras can ``fit`` on directly, epoch after epoch."""

from __future__ import annotations

from .._layout import Layout
from . import require


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
    signature = tuple(signature)
    numpy_batches = loader.as_numpy()

    dataset = tf.data.Dataset.from_generator(
        lambda: iter(numpy_batches), output_signature=signature[0] if len(signature) == 1 else signature
    )
    # A known length lets Keras show progress and needs no steps_per_epoch.
    return dataset.apply(tf.data.experimental.assert_cardinality(len(numpy_batches)))


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
