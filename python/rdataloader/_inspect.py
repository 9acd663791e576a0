"""``python -m rdataloader inspect FILE [NAME]``: what a file's dataset holds, and how the loader reads each column.

A user sees before training which columns reach the parallel file readers and which fall back to RDataFrame's
event loop (and why): the same decision, by the same C++ function, that a loader over those columns makes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._cxx import cxx_namespace
from ._types import ColumnType, parse_column_type

#: ROOT's number type (``EDataType``) of each element dtype, as the engine's ``NumbersOf<T>()`` gives it.
_EDATATYPES = {"bool": "kBool_t", "int8": "kChar_t", "uint8": "kUChar_t", "int16": "kShort_t",
               "uint16": "kUShort_t", "int32": "kInt_t", "uint32": "kUInt_t", "int64": "kLong64_t",
               "uint64": "kULong64_t", "float32": "kFloat_t", "float64": "kDouble_t"}
#: The classes of the datasets the loader reads, by what this report calls them.
_FORMATS = {"TTree": "TTree", "TNtuple": "TTree", "TNtupleD": "TTree", "ROOT::RNTuple": "RNTuple"}


@dataclass(frozen=True)
class ColumnReport:
    """One column: its type as RDataFrame reports it, what the loader makes of it, and which path reads it."""

    name: str
    type: str
    loads_as: str
    read_by: str


@dataclass(frozen=True)
class DatasetReport:
    """A TTree or RNTuple of one file: its size, its clusters and its columns."""

    path: str
    name: str
    format: str
    entries: int
    clusters: int
    columns: list[ColumnReport]

    def __str__(self) -> str:
        rows = [("column", "type", "loads as", "read by")]
        rows += [(c.name, c.type, c.loads_as, c.read_by) for c in self.columns]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        clusters = f"{self.clusters:,} cluster" + ("" if self.clusters == 1 else "s")
        lines = [f"{self.path}: {self.format} '{self.name}', {self.entries:,} entries in {clusters}", ""]
        lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3] for row in rows]
        return "\n".join(line.rstrip() for line in lines)


def dataset_names(path: str) -> dict[str, str]:
    """The TTrees and RNTuples at the top of the file ``path``, by name, with their format."""
    import ROOT

    try:
        file = ROOT.TFile.Open(path)
    except OSError as error:  # PyROOT raises where C++ returns null
        raise FileNotFoundError(f"cannot open {path!r} as a ROOT file ({error})") from error
    if not file or file.IsZombie():
        raise FileNotFoundError(f"cannot open {path!r} as a ROOT file")
    try:
        return {str(key.GetName()): _FORMATS[key.GetClassName()] for key in file.GetListOfKeys()
                if key.GetClassName() in _FORMATS}
    finally:
        file.Close()


def inspect_file(path: str, name: str | None = None) -> DatasetReport:
    """Report on the dataset ``name`` of the file ``path`` (its only TTree or RNTuple when ``name`` is None)."""
    import ROOT

    datasets = dataset_names(path)
    if name is None:
        if len(datasets) != 1:
            found = ", ".join(f"{n} ({f})" for n, f in datasets.items()) or "none"
            raise ValueError(f"{path} holds {len(datasets)} TTrees and RNTuples ({found}); name the one to inspect")
        name = next(iter(datasets))
    elif name not in datasets:
        found = ", ".join(datasets) or "none"
        raise ValueError(f"{path} has no TTree or RNTuple named {name!r}; it has: {found}")
    node = ROOT.RDF.AsRNode(ROOT.RDataFrame(name, path))
    columns = [str(c) for c in node.GetColumnNames()]
    types: dict[str, ColumnType | TypeError] = {}
    for column in columns:
        try:
            types[column] = parse_column_type(column, str(node.GetColumnType(column)))
        except TypeError as error:
            types[column] = error
    read_by = _read_paths(node, {c: t for c, t in types.items() if isinstance(t, ColumnType)})
    reports = [ColumnReport(c, str(node.GetColumnType(c)), _loads_as(types[c]), read_by.get(c, "-")) for c in columns]
    entries, clusters = _clusters(node)
    return DatasetReport(path, name, datasets[name], entries, clusters, reports)


def _loads_as(column_type: ColumnType | TypeError) -> str:
    if isinstance(column_type, TypeError):
        return "not loadable (leave it out, or Define numbers from it)"
    if column_type.is_vector:
        return f"{column_type.element_dtype} vectors (give max_vec_sizes or a collection)"
    return column_type.element_dtype


def _read_paths(node, types: dict[str, ColumnType]) -> dict[str, str]:
    """Per column, the source that would read it alone; one source for them all when one can."""
    import ROOT

    ml = cxx_namespace()

    def source_name(columns: list[str]) -> str:
        numbers = ROOT.std.vector[ml.Detail.RColumnNumbers]()
        for column in columns:
            number = ml.Detail.RColumnNumbers()
            number.fType = getattr(ROOT, _EDATATYPES[types[column].element_dtype])
            number.fIsVector = types[column].is_vector
            numbers.push_back(number)
        why_not = ROOT.std.string()
        source = ml.Detail.CreateFileSource(node, columns, numbers, why_not)
        return str(source.GetName()) if source else f"event loop ({why_not})"

    together = source_name(list(types)) if types else ""
    if not together.startswith("event loop"):
        return dict.fromkeys(types, together)
    return {column: source_name([column]) for column in types}


def _clusters(node) -> tuple[int, int]:
    """The entries of the dataset and the clusters they are stored in, as RDataFrame (and so the loader's
    reading plan) sees them."""
    import ROOT

    boundaries = ROOT.Internal.RDF.GetDatasetGlobalClusterBoundaries(node)
    return (int(boundaries[boundaries.size() - 1].second) if boundaries.size() else 0), int(boundaries.size())