"""What each batch contains: the blocks (features, targets, weights), the object collections, their
dtypes and shapes."""

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
class CollectionBlock:
    """The tensors of one object collection: values and a mask (padded), or values and offsets (packed)."""

    name: str
    index: int  # position among the engine's collections
    fields: tuple[str, ...]
    max_len: int
    dtype: np.dtype
    packed: bool
    index_key: str  # "<name>_mask" or "<name>_offsets"


@dataclass(frozen=True)
class Layout:
    """The blocks present in every batch, in the order they are returned. With collections, the
    features are replaced by a dictionary of the features (if any) and the collections' tensors."""

    blocks: tuple[Block, ...]
    collections: tuple[CollectionBlock, ...] = ()
