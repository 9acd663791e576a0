"""Object collections: vector columns grouped per object (the muons of an event, say), delivered as
padded ``(rows, max_len, fields)`` tensors with masks, or packed with per-entry offsets; and
``suggest_max_len``, which picks ``max_len`` from a dataset's length distribution."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ._types import ColumnType, normalize_dtype

LAYOUTS = ("padded", "packed")
#: Keys of the input dictionary that a collection name must not take.
RESERVED_KEYS = ("features",)


@dataclass(frozen=True)
class Collection:
    """One collection, checked: its fields, how many objects each entry keeps, and how they are ordered."""

    name: str
    fields: tuple[str, ...]
    max_len: int
    sort_by: str | None
    dtype: str
    packed: bool
    types: tuple[ColumnType, ...] = ()  # of ``columns``, filled in once the dataframe is known

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns read for this collection: its fields, then a sort key that is not one of them."""
        key = (self.sort_by,) if self.sort_by and self.sort_by not in self.fields else ()
        return self.fields + key

    @property
    def index_key(self) -> str:
        """The key of the mask (padded) or of the offsets (packed) in a batch's input dictionary."""
        return f"{self.name}_offsets" if self.packed else f"{self.name}_mask"


def _fields(name: str, value: Any) -> tuple[tuple[str, ...], int]:
    usage = f"collections[{name!r}] must be ([field columns], max_len), e.g. ([\"Muon_pt\", \"Muon_eta\"], 4)"
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{usage}; got {value!r}")
    fields, max_len = value
    if isinstance(fields, str) or not isinstance(fields, Sequence) or not all(isinstance(f, str) for f in fields):
        raise TypeError(f"{usage}; the fields are {fields!r}")
    if not fields:
        raise ValueError(f"collections[{name!r}] has no fields; list the vector columns of its objects")
    if len(set(fields)) != len(fields):
        raise ValueError(f"collections[{name!r}] lists a field twice: {list(fields)}")
    if isinstance(max_len, bool) or not isinstance(max_len, numbers.Integral) or max_len <= 0:
        raise ValueError(f"collections[{name!r}]: max_len must be a positive integer; got {max_len!r} "
                         "(rdataloader.suggest_max_len proposes one from the data)")
    return tuple(fields), int(max_len)


def parse_collections(collections, collections_layout, sort_by, dtypes) -> tuple[Collection, ...]:
    """Check the ``collections``, ``collections_layout`` and ``sort_by`` arguments and the collection
    entries of ``dtypes``; column types are checked later, with the dataframe."""
    if collections is None:
        if sort_by:
            raise ValueError("sort_by orders the objects of collections, but no collections are given")
        return ()
    if not isinstance(collections, Mapping):
        raise TypeError(f"collections must be a dict {{name: ([field columns], max_len)}}; got {collections!r}")
    if collections_layout not in LAYOUTS:
        raise ValueError(f"collections_layout must be 'padded' or 'packed'; got {collections_layout!r}")
    sort_by = dict(sort_by or {})
    for name, key in sort_by.items():
        if name not in collections:
            raise ValueError(f"sort_by names {name!r}, which is not a collection; collections are {list(collections)}")
        if not isinstance(key, str):
            raise TypeError(f"sort_by[{name!r}] must be a column name; got {key!r}")
    dtypes = dict(dtypes or {})
    parsed = []
    owner: dict[str, str] = {}
    for name, value in collections.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"collection names must be non-empty strings; got {name!r}")
        if name in RESERVED_KEYS:
            raise ValueError(f"{name!r} cannot name a collection: it is the key of the flat features")
        fields, max_len = _fields(name, value)
        dtype = normalize_dtype(name, dtypes[name]) if name in dtypes else "float32"
        collection = Collection(name, fields, max_len, sort_by.get(name), dtype, collections_layout == "packed")
        for column in collection.columns:
            if column in owner:
                raise ValueError(f"column {column!r} is read by collections {owner[column]!r} and {name!r}; "
                                 "a column belongs to one collection")
            owner[column] = name
        parsed.append(collection)
    keys = [key for c in parsed for key in (c.name, c.index_key)]
    for key in set(keys):
        if keys.count(key) > 1:
            raise ValueError(f"collection names {list(collections)} give the input key {key!r} twice; rename one")
    for name in dtypes:
        if name in owner:
            raise ValueError(f"dtypes names {name!r}, a field of collection {owner[name]!r}: a collection has one "
                             f"dtype, given by its name (dtypes={{{owner[name]!r}: ...}})")
    return tuple(parsed)


def check_collections(collections: tuple[Collection, ...], columns: Sequence[str],
                      max_vec_sizes: Mapping[str, int], vec_padding: float) -> None:
    """Collection columns are no flat columns; fields are vector columns; the padding fits the dtype."""
    import numpy as np

    for collection in collections:
        for column, ctype in zip(collection.columns, collection.types):
            role = "sort key" if column not in collection.fields else "field"
            if column in columns:
                raise ValueError(f"column {column!r} is a {role} of collection {collection.name!r}; leave it out "
                                 "of columns (a target or weights cannot belong to a collection)")
            if column in max_vec_sizes:
                raise ValueError(f"max_vec_sizes names {column!r}, a {role} of collection {collection.name!r}, "
                                 "whose length is the collection's max_len; leave it out of max_vec_sizes")
            if not ctype.is_vector:
                raise TypeError(f"column {column!r} ({role} of collection {collection.name!r}) is a scalar "
                                f"({ctype.cxx}); a collection reads vector columns holding one value per object")
        dtype = np.dtype(collection.dtype)
        if not collection.packed and dtype.kind in "iu":
            info = np.iinfo(dtype)
            if not float(vec_padding).is_integer() or not info.min <= vec_padding <= info.max:
                raise ValueError(f"vec_padding={vec_padding} cannot be stored in collection "
                                 f"{collection.name!r}'s dtype {dtype}")


def suggest_max_len(rdataframes, collections: Mapping[str, str], quantile: float = 0.99) -> dict[str, int]:
    """Suggest each collection's ``max_len`` from the distribution of its length in the data.

    Counts, in one event loop per dataframe, how many entries hold each number of objects, and
    returns the smallest length that at least ``quantile`` of the entries do not exceed (NumPy's
    ``quantile(lengths, quantile, method="inverted_cdf")``), at least 1.

    Parameters
    ----------
    rdataframes : RDataFrame, RNode or list of them
        The dataset, as given to the loader; ``Filter``s are honoured.
    collections : dict of str to str
        For each collection, one of its vector columns: its length is the number of objects.
    quantile : float
        Fraction of the entries whose objects all fit, in (0, 1]; 1 gives the largest length.

    Returns
    -------
    dict of str to int
        ``max_len`` per collection, ready for ``collections={"muons": (fields, suggested["muons"])}``.

    Examples
    --------
    >>> rdataloader.suggest_max_len(df, {"muons": "Muon_pt", "jets": "Jet_pt"}, quantile=0.99)
    {'muons': 4, 'jets': 9}
    """
    import ROOT

    from . import _cxx
    from ._frames import column_types, nodes_of

    if isinstance(quantile, bool) or not isinstance(quantile, numbers.Real) or not 0.0 < quantile <= 1.0:
        raise ValueError(f"quantile must be a number in (0, 1]; got {quantile!r}")
    if not isinstance(collections, Mapping) or not collections:
        raise TypeError(f"collections must be a non-empty dict {{name: vector column}}; got {collections!r}")
    for name, column in collections.items():
        if not isinstance(column, str):
            raise TypeError(f"collections[{name!r}] must be one vector column of the collection; got {column!r}")
    nodes = nodes_of(rdataframes)
    columns = list(collections.values())
    for column, ctype in zip(columns, column_types(nodes, columns)):
        if not ctype.is_vector:
            raise TypeError(f"column {column!r} is a scalar ({ctype.cxx}); give a vector column of the collection")
    ml = _cxx.cxx_namespace(_cxx.LENGTHS_HEADER)
    booked = [ml.BookLengthDistributions(node, columns) for node in nodes]
    results = [result for per_node in booked for result in per_node]
    ROOT.RDF.RunGraphs(results)
    suggested = {}
    for i, name in enumerate(collections):
        total = ml.RLengthDistribution()
        for per_node in booked:
            total.Merge(per_node[i].GetValue())
        suggested[name] = max(1, int(total.GetQuantile(float(quantile))))
    return suggested
