"""The loader's keywords turned into a checked spec: their Python types, and the columns they name against the
dataframe. The rules that combine options are C++'s, applied by ``_options`` when the loader is built."""

from __future__ import annotations

import numbers
import os
import secrets
import sys
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from ._collections import Collection, check_collections, parse_collections
from ._errors import not_loaded, repeated
from ._frames import available_columns, column_types, nodes_of
from ._normalization import check_normalize
from ._reweighting import Reweight, parse_reweight
from ._types import ColumnType, normalize_dtype

#: RDataFrame hands all columns of an entry to one typed callable; beyond about 250 arguments the
#: standard library's invocability checks exceed the compiler's template nesting limit.
MAX_COLUMNS = 250

#: Beyond MAX_COLUMNS, runs of scalar features are read as vector columns of this many values, each
#: Defined from its members (the same limit applies to the Define's callable).
PACK_SIZE = 200


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def _count(name: str, value: Any) -> int:
    """An integer that C++ holds in a ``std::size_t``; C++ checks its value (``RDataLoaderOptions::Checked``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer; got {value!r}")
    return int(value)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, numbers.Integral)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def _shuffle(value: Any) -> bool:
    if isinstance(value, str) and value != "global":
        raise ValueError(f"shuffle must be True, False or 'global' (the exact shuffle); got {value!r}")
    return value == "global" or _flag("shuffle", value)


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


@dataclass(frozen=True)
class LoaderOptions:
    """The keywords of ``RDataLoader`` as the user gave them, unchecked: ``build_spec`` checks them. Its
    fields have no defaults, so that the loader's signature is the one place that states them."""

    batch_size: Any
    batches_in_memory: Any
    columns: Any
    max_vec_sizes: Any
    vec_padding: Any
    target: Any
    weights: Any
    shuffle: Any
    drop_remainder: Any
    set_seed: Any
    load_eager: Any
    sampling_type: Any
    sampling_ratio: Any
    replacement: Any
    dtypes: Any
    normalize: Any
    class_weights: Any
    reweight: Any
    collections: Any
    collections_layout: Any
    sort_by: Any
    rank: Any
    world_size: Any
    read_threads: Any
    cache_dir: Any
    resample_by: Any
    progress: Any


#: What resampling balances (``resample_by=``): ROOT's two dataframes, or the classes of the target.
RESAMPLE_BY = ("dataframe", "target")


@dataclass(frozen=True)
class Sampling:
    """Resampling in every epoch (``sampling_type=``): of the two dataframes, both splits, or of the
    classes of the target, the training split only (``by``)."""

    kind: str  # "undersampling" or "oversampling"
    ratio: float
    replacement: bool
    by: str = "dataframe"  # one of RESAMPLE_BY


@dataclass
class LoaderSpec:
    """Everything the engine needs, checked."""

    nodes: list
    columns: list[str]
    types: list[ColumnType]
    targets: list[str]
    weights: str
    batch_size: int
    batches_in_memory: int | None
    shuffle: bool
    drop_remainder: bool
    seed: int
    load_eager: bool
    max_vec_sizes: dict[str, int]
    vec_padding: float
    dtypes: dict[str, str] = field(default_factory=dict)
    normalize: Any = None
    class_weights: Any = None
    seed_drawn: bool = False
    rank: int = 0
    world_size: int = 1
    collections: tuple[Collection, ...] = ()
    sampling: Sampling | None = None
    reweight: Reweight | None = None
    packed: dict[str, tuple[str, ...]] = field(default_factory=dict)  # vector column read -> its scalar features
    read_threads: int = 2
    global_shuffle: bool = False  # shuffle="global": the exact shuffle through a pile cache on disk
    cache_dir: str | None = None
    progress: bool = True
    replicas: tuple[list, ...] = ()  # the dataframes built again, one list per build after the first

    @property
    def features(self) -> list[str]:
        return [c for c in self.columns if c not in self.targets and c != self.weights]

    def width(self, column: str) -> int:
        return self.max_vec_sizes.get(column, 1)

    def flat_names(self, columns: Sequence[str]) -> list[str]:
        """Column names as they appear in the tensors: vector columns expand to name_0 ... name_{n-1}."""
        names = []
        for c in self.unpacked(columns):
            names += [f"{c}_{i}" for i in range(self.width(c))] if c in self.max_vec_sizes else [c]
        return names

    def unpacked(self, columns: Sequence[str]) -> list[str]:
        """The columns as the user named them: packed features in place of the vector they are read as."""
        return [member for c in columns for member in self.packed.get(c, (c,))]

    def dtype(self, column: str) -> str:
        return self.dtypes.get(column, "float32")

    @property
    def engine_columns(self) -> list[str]:
        """The columns the engine reads: the flat ones, then those of each collection."""
        return self.columns + [c for collection in self.collections for c in collection.columns]

    @property
    def engine_types(self) -> list[ColumnType]:
        return self.types + [t for collection in self.collections for t in collection.types]


def _rank_and_world_size(rank, world_size) -> tuple[int, int]:
    """Validated (rank, world_size); when neither is given, those of torch.distributed if it is initialised."""
    if rank is None and world_size is None:
        # A process group can only exist if the program imported torch: there is no need to import it here.
        torch = sys.modules.get("torch")
        dist = getattr(torch, "distributed", None)
        if dist is not None and dist.is_available() and dist.is_initialized():
            return int(dist.get_rank()), int(dist.get_world_size())
        return 0, 1
    if rank is None or world_size is None:
        raise ValueError(f"give both rank and world_size, or neither; got rank={rank!r}, world_size={world_size!r}")
    return _count("rank", rank), _count("world_size", world_size)


def _builds(rdataframes, read_threads: int) -> list[list]:
    """The dataframes given, as RNodes: once, or built by a function once per reading thread, so that their
    Defines and Filters are computed in parallel."""
    if not callable(rdataframes):
        return [nodes_of(rdataframes)]
    builds = []
    for _ in range(max(read_threads, 1)):
        built = rdataframes()
        try:
            builds.append(nodes_of(built))
        except (TypeError, ValueError) as error:
            raise type(error)(f"the function given as rdataframes must return an RDataFrame or a list of them; "
                              f"it returned {built!r} ({error})") from error
    return builds


def build_spec(rdataframes, options: LoaderOptions) -> LoaderSpec:
    """The checked spec of a loader over ``rdataframes`` with the user's ``options``."""
    batch_size = _positive_int("batch_size", options.batch_size)
    read_threads, set_seed = options.read_threads, options.set_seed
    if isinstance(read_threads, bool) or not isinstance(read_threads, numbers.Integral) or read_threads < 0:
        raise ValueError(
            f"read_threads must be a non-negative integer (0 reads through RDataFrame's event loop); got {read_threads!r}"
        )
    batches_in_memory = options.batches_in_memory
    if batches_in_memory is not None:
        batches_in_memory = _positive_int("batches_in_memory", batches_in_memory)
    if isinstance(set_seed, bool) or not isinstance(set_seed, numbers.Integral) or not 0 <= set_seed < 2**64:
        raise ValueError(f"set_seed must be an integer in [0, 2**64) (0 draws a random seed); got {set_seed!r}")
    rank, world_size = _rank_and_world_size(options.rank, options.world_size)
    if world_size > 1 and set_seed == 0:
        # The shards of an epoch are drawn from the seed in each process, without communication.
        raise ValueError(
            f"with world_size={world_size}, every rank must use the same seed to read its own shard; "
            "set_seed=0 would draw a different one in each process: pass set_seed=<the same integer on every rank>"
        )
    if not isinstance(options.vec_padding, numbers.Real):
        raise TypeError(f"vec_padding must be a number; got {options.vec_padding!r}")

    nodes, *replicas = _builds(rdataframes, read_threads)
    groups = parse_collections(options.collections, options.collections_layout, options.sort_by, options.dtypes)
    grouped = {c for group in groups for c in group.columns}
    available = available_columns(nodes[0])
    columns = _as_list(options.columns) or [c for c in available if c not in grouped]
    repeated("columns", columns)
    types = column_types(nodes, columns)
    groups = tuple(replace(g, types=tuple(column_types(nodes, list(g.columns), f"collections[{g.name!r}]")))
                   for g in groups)
    check_collections(groups, columns, dict(options.max_vec_sizes or {}), options.vec_padding)

    targets = _as_list(options.target)
    repeated("target", targets)
    weights = options.weights or ""
    if not isinstance(weights, str):
        raise TypeError(f"weights must be a column name; got {weights!r}")
    for t in targets:
        if t not in columns:
            raise not_loaded(t, "target", columns, available)
    if weights:
        if weights not in columns:
            raise not_loaded(weights, "weights", columns, available)
        if weights in targets:
            raise ValueError(f"column {weights!r} cannot be both a target and the weights")

    max_vec_sizes = dict(options.max_vec_sizes or {})
    for name, size in max_vec_sizes.items():
        if name not in columns:
            raise not_loaded(name, "max_vec_sizes", columns, available)
        _positive_int(f"max_vec_sizes[{name!r}]", size)
    for column, ctype in zip(columns, types):
        if ctype.is_vector and column not in max_vec_sizes:
            raise ValueError(
                f"column {column!r} holds vectors ({ctype.cxx}); give its length with "
                f"max_vec_sizes={{{column!r}: N}}: shorter vectors are padded with vec_padding, longer ones truncated"
            )
        if not ctype.is_vector and column in max_vec_sizes:
            raise ValueError(f"max_vec_sizes names {column!r}, but it is a scalar column ({ctype.cxx})")

    normalized: dict[str, str] = {}
    for name, dtype in dict(options.dtypes or {}).items():
        if any(name == group.name for group in groups):
            continue
        if name not in columns:
            raise not_loaded(name, "dtypes", columns, available)
        normalized[name] = normalize_dtype(name, dtype)
    spec = LoaderSpec(
        nodes=nodes,
        replicas=tuple(replicas),
        columns=columns,
        types=types,
        targets=targets,
        weights=weights,
        batch_size=batch_size,
        batches_in_memory=batches_in_memory,
        shuffle=_shuffle(options.shuffle),
        drop_remainder=_flag("drop_remainder", options.drop_remainder),
        seed=int(set_seed) or secrets.randbits(63) + 1,
        seed_drawn=set_seed == 0,
        load_eager=_flag("load_eager", options.load_eager),
        max_vec_sizes={k: int(v) for k, v in max_vec_sizes.items()},
        vec_padding=float(options.vec_padding),
        dtypes=normalized,
        normalize=options.normalize,
        class_weights=_class_weights(options.class_weights, targets, max_vec_sizes),
        reweight=parse_reweight(options.reweight, columns, available, targets, max_vec_sizes),
        rank=rank,
        world_size=world_size,
        collections=groups,
        sampling=_sampling(options, targets, max_vec_sizes),
        read_threads=int(read_threads),
        global_shuffle=options.shuffle == "global",
        cache_dir=_cache_dir(options.cache_dir),
        progress=_flag("progress", options.progress),
    )
    _check_block_dtypes(spec)
    check_normalize(options.normalize, spec.features)
    if options.normalize is not None and spec.features and spec.dtype(spec.features[0]) not in ("float32", "float64"):
        raise TypeError(f"normalize needs floating-point features; dtypes makes them {spec.dtype(spec.features[0])}")
    return _pack_wide_features(spec)


def _pack_wide_features(spec: LoaderSpec) -> LoaderSpec:
    """Beyond MAX_COLUMNS columns, read each run of up to PACK_SIZE consecutive scalar features as one
    vector column of doubles (exact for every integer up to 2**53), Defined on the dataframes; the
    tensors and names are those of the original columns."""
    collection_columns = sum(len(c.columns) for c in spec.collections)
    if len(spec.columns) + collection_columns <= MAX_COLUMNS:
        return spec
    # The engine bins reweighted columns entry by entry: they stay columns of their own.
    features = set(spec.features) - set(spec.reweight.columns if spec.reweight else ())
    packed: dict[str, tuple[str, ...]] = {}
    columns: list[str] = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            name = f"_rdataloader_packed_{len(packed)}"
            packed[name] = tuple(run)
            columns.append(name)
            run.clear()

    for column, ctype in zip(spec.columns, spec.types):
        if column in features and not ctype.is_vector:
            run.append(column)
            if len(run) == PACK_SIZE:
                close_run()
        else:
            close_run()
            columns.append(column)
    close_run()
    if len(columns) + collection_columns > MAX_COLUMNS:
        raise ValueError(
            f"{len(spec.columns) + collection_columns} columns requested, {len(columns) + collection_columns} even "
            f"with the scalar features read in groups of {PACK_SIZE}; one loader reads at most {MAX_COLUMNS}. "
            "Combine vector columns into fewer ones (Define), or leave some out with columns=[...]"
        )
    builds = [spec.nodes, *spec.replicas]
    for name, members in packed.items():
        expression = "ROOT::RVecD{" + ", ".join(f"static_cast<double>({m})" for m in members) + "}"
        builds = [[node.Define(name, expression) for node in nodes] for nodes in builds]
    nodes = builds[0]
    return replace(
        spec,
        nodes=nodes,
        replicas=tuple(builds[1:]),
        columns=columns,
        types=column_types(nodes, columns),
        max_vec_sizes={**spec.max_vec_sizes, **{name: len(members) for name, members in packed.items()}},
        # All features share one dtype.
        dtypes={**spec.dtypes, **{name: spec.dtype(spec.features[0]) for name in packed}},
        packed=packed,
    )


def _check_block_dtypes(spec: LoaderSpec) -> None:
    import numpy as np

    for role, members in (("features", spec.features), ("targets", spec.targets)):
        found = {spec.dtype(c) for c in members}
        if len(found) > 1:
            raise TypeError(
                f"the {role} are delivered as one tensor, so they need one dtype; dtypes gives "
                f"{', '.join(f'{c}: {spec.dtype(c)}' for c in members)}"
            )
    for column in spec.max_vec_sizes:
        dtype = np.dtype(spec.dtype(column))
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            if not float(spec.vec_padding).is_integer() or not info.min <= spec.vec_padding <= info.max:
                raise ValueError(
                    f"vec_padding={spec.vec_padding} cannot be stored in column {column!r}'s dtype {dtype}"
                )


def _cache_dir(cache_dir) -> str | None:
    if cache_dir is None:
        return None
    path = os.fspath(cache_dir)
    if not os.path.isdir(path) or not os.access(path, os.W_OK):
        raise ValueError(f"cache_dir={path!r} is not a writable directory; create it, or leave cache_dir=None "
                         "for the system's temporary directory")
    return path


def _needs_class_label(what: str, targets: list[str], max_vec_sizes: dict) -> None:
    if len(targets) != 1 or targets[0] in max_vec_sizes:
        raise ValueError(f"{what} needs exactly one scalar target column holding class labels")


def _sampling(options: LoaderOptions, targets: list[str], max_vec_sizes: dict) -> Sampling | None:
    sampling_type, sampling_ratio, resample_by = options.sampling_type, options.sampling_ratio, options.resample_by
    replacement = options.replacement
    if resample_by not in RESAMPLE_BY:
        raise ValueError(f"resample_by must be 'dataframe' (ROOT's two dataframes, majority and minority) or "
                         f"'target' (the classes of the target); got {resample_by!r}")
    if sampling_type in ("", None):
        if sampling_ratio != 1.0 or replacement or resample_by != "dataframe":
            raise ValueError("sampling_ratio, replacement and resample_by need sampling_type='undersampling' or "
                             "'oversampling'")
        return None
    if sampling_type not in ("undersampling", "oversampling"):
        raise ValueError(f"sampling_type must be 'undersampling' or 'oversampling'; got {sampling_type!r}")
    if isinstance(sampling_ratio, bool) or not isinstance(sampling_ratio, numbers.Real):
        raise ValueError(f"sampling_ratio must be a number; got {sampling_ratio!r}")
    if resample_by == "target":
        _needs_class_label("sampling_type with resample_by='target'", targets, max_vec_sizes)
    return Sampling(sampling_type, float(sampling_ratio), _flag("replacement", replacement), resample_by)


def _class_weights(class_weights, targets: list[str], max_vec_sizes: dict) -> str | dict[int, float] | None:
    if class_weights is None:
        return None
    _needs_class_label("class_weights", targets, max_vec_sizes)
    if class_weights == "balanced":
        return class_weights
    if isinstance(class_weights, str) or not hasattr(class_weights, "items"):
        raise ValueError(f"class_weights must be 'balanced' or a dict {{label: weight}}; got {class_weights!r}")
    checked = {}
    for label, weight in class_weights.items():
        if isinstance(label, bool) or not isinstance(label, numbers.Integral):
            raise ValueError(f"class_weights: labels must be integers; got {label!r}")
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            raise ValueError(f"class_weights: the weight of class {label} must be a number; got {weight!r}")
        checked[int(label)] = float(weight)
    if not checked:
        raise ValueError("class_weights is empty")
    return checked


@dataclass(frozen=True)
class SplitSpec:
    """How the entries are divided between training and validation.

    Without ``key``, ``test_size`` of the entries, drawn from the seed; with ``key``, by that integer
    column alone: fold ``fold`` of ``n_folds`` (``key % n_folds == fold``), or, without folds, the
    keys whose hash falls below ``test_size``.
    """

    test_size: float = 0.0
    key: str | None = None
    n_folds: int = 0
    fold: int = 0

    def describe(self) -> str:
        if self.key is None:
            return f"test_size={self.test_size}"
        if self.n_folds:
            return f"split_key={self.key!r}, fold={self.fold}, n_folds={self.n_folds}"
        return f"split_key={self.key!r}, test_size={self.test_size}"


def _fraction(test_size: Any) -> float:
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real) or not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a number in (0, 1); got {test_size!r}")
    return float(test_size)


def build_split(spec: LoaderSpec, test_size: Any, split_key: Any, n_folds: Any, fold: Any) -> SplitSpec:
    """A checked split: a fraction, or an integer key column with a fraction or with folds."""
    folded = n_folds is not None or fold is not None
    if split_key is None:
        if folded:
            raise ValueError("n_folds and fold need split_key=, the integer column (an event number) defining the folds")
        return SplitSpec(test_size=_fraction(test_size))
    if not isinstance(split_key, str):
        raise TypeError(f"split_key must be a column name; got {split_key!r}")
    key_type = column_types(spec.nodes, [split_key], "split_key")[0]
    if key_type.is_vector or not key_type.element_dtype.startswith(("int", "uint")):
        raise TypeError(
            f"split_key {split_key!r} has type {key_type.cxx}, but a split key must be an integer column; "
            f"Define one, for example from the run and event numbers"
        )
    if not folded:
        return SplitSpec(test_size=_fraction(test_size), key=split_key)
    if test_size is not None:
        raise TypeError("train_test_split takes either test_size or n_folds and fold, not both")
    if n_folds is None or fold is None:
        raise TypeError("k folds need both n_folds and fold (the fold used for validation)")
    return SplitSpec(key=split_key, n_folds=_count("n_folds", n_folds), fold=_count("fold", fold))
