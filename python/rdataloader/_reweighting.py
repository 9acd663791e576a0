"""Kinematic reweighting (``reweight=``): every class weighted to a reference distribution of scalar columns.

The engine counts each class's training entries in a grid of bins of the chosen columns, in the pass that
counts the classes (so every rank of a distributed run computes the same weights), and multiplies an entry's
weight by reference(bin) / (its class's share of the bin): ``ROOT::ML::RReweightOptions``.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import not_loaded

_KEYS = ("columns", "bins", "reference")


@dataclass(frozen=True)
class Reweight:
    """The checked ``reweight=`` keyword: the columns, their bin edges, and the reference (``"flat"`` or a
    class label)."""

    columns: tuple[str, ...]
    edges: tuple[tuple[float, ...], ...]
    reference: str | int

    def to_cxx(self, ml):
        options = ml.RReweightOptions()
        for column, edges in zip(self.columns, self.edges):
            options.fColumns.push_back(column)
            options.fEdges.push_back(list(edges))
        options.fFlat = self.reference == "flat"
        options.fReferenceClass = 0 if self.reference == "flat" else self.reference
        return options


def _edges(column: str, value: Any) -> tuple[float, ...]:
    """The bin edges given for ``column`` as numbers; C++ checks that they are bins
    (``RDataLoaderOptions::Checked``)."""
    edges = tuple(value) if isinstance(value, Sequence) and not isinstance(value, str) else None
    if edges is None or not all(isinstance(e, numbers.Real) and not isinstance(e, bool) for e in edges):
        raise ValueError(f"reweight: the bins of {column!r} must be a list of edges, such as [0, 20, 50, 100]; "
                         f"got {value!r}")
    return tuple(float(e) for e in edges)


def parse_reweight(value: Any, columns: Sequence[str], available: Sequence[str], targets: Sequence[str],
                   max_vec_sizes: Mapping[str, int]) -> Reweight | None:
    """The checked ``reweight`` keyword of a loader of ``columns`` (the dataframe has ``available``)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"reweight must be a dict such as {{'columns': ['Jet_pt'], 'bins': [20, 50, 100, 500], "
                        f"'reference': 'flat'}}; got {value!r}")
    unknown = [key for key in value if key not in _KEYS]
    if unknown or "columns" not in value or "bins" not in value:
        raise ValueError(f"reweight takes the keys 'columns', 'bins' and optionally 'reference'; got {sorted(value)}")
    names = [value["columns"]] if isinstance(value["columns"], str) else list(value["columns"])
    if not names:
        raise ValueError("reweight: 'columns' names no column; name the scalar columns to reweight")
    for name in names:
        if name not in columns:
            raise not_loaded(name, "reweight", columns, available)
        if name in max_vec_sizes:
            raise ValueError(f"reweight: {name!r} is a vector column; reweight on a scalar (Define one, such as its "
                             f"leading element: df.Define('{name}_0', '{name}[0]'))")
    bins = value["bins"]
    if isinstance(bins, Mapping):
        missing = [name for name in names if name not in bins]
        extra = [name for name in bins if name not in names]
        if missing or extra:
            raise ValueError(f"reweight: 'bins' must give the edges of exactly the columns {names}; "
                             f"{'missing ' + str(missing) if missing else 'not reweighted: ' + str(extra)}")
        edges = tuple(_edges(name, bins[name]) for name in names)
    else:
        edges = tuple(_edges(name, bins) for name in names)
    reference = value.get("reference", "flat")
    if reference != "flat" and (isinstance(reference, bool) or not isinstance(reference, numbers.Integral)):
        raise ValueError(f"reweight: 'reference' is 'flat' or a class label (an integer); got {reference!r}")
    if len(targets) == 1 and targets[0] in max_vec_sizes:
        raise ValueError(f"reweight weighs the classes of a target of class labels; target {targets[0]!r} is a vector "
                         "column")
    return Reweight(tuple(names), edges, reference if reference == "flat" else int(reference))


@dataclass(frozen=True)
class Reweighting:
    """The fitted reweighting: per class label, the weight of each bin of the grid of ``edges`` (the last
    column's bins vary fastest), which multiplies the entries' weights."""

    columns: tuple[str, ...]
    edges: tuple[tuple[float, ...], ...]
    reference: str | int
    weights: dict[int, tuple[float, ...]]

    def __repr__(self) -> str:
        shape = " x ".join(str(len(e) - 1) for e in self.edges)
        lines = [f"reweighting of {', '.join(self.columns)} ({shape} bins) to the {self.reference} "
                 f"{'distribution' if self.reference == 'flat' else 'class'}"]
        for label, weights in self.weights.items():
            lines.append(f"class {label}: " + " ".join(f"{w:.3g}" for w in weights))
        return "\n".join(lines)
