"""Batches as a ``tf.data.Dataset`` that Keras can ``fit`` on directly, epoch after epoch."""

from __future__ import annotations

from .._layout import Layout
from . import require


def make_dataset(loader, layout: Layout):
    """A dataset over ``loader``'s split: each iteration (each Keras epoch) is a new loader epoch.

    With ``drop_remainder=False`` the batch dimension is ``None`` and the last batch holds exactly
    its real entries: no padding rows are invented.
    """
    tf = require("tensorflow", "tensorflow")
    spec = loader._spec
    rows = spec.batch_size if spec.drop_remainder else None
    signature = tuple(
        tf.TensorSpec(shape=(rows,) if block.rank == 1 else (rows, block.width), dtype=tf.as_dtype(block.dtype))
        for block in layout.blocks
    )
    numpy_batches = loader.as_numpy()

    dataset = tf.data.Dataset.from_generator(
        lambda: iter(numpy_batches), output_signature=signature[0] if len(signature) == 1 else signature
    )
    # A known length lets Keras show progress and needs no steps_per_epoch.
    return dataset.apply(tf.data.experimental.assert_cardinality(len(numpy_batches)))
