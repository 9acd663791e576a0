"""The dataframes a loader is given, and the C++ types of their columns."""

from __future__ import annotations

from ._errors import unknown_column
from ._types import ColumnType, parse_column_type, same_cxx_type


def nodes_of(rdataframes) -> list:
    """The dataframes given (one, or a list of them) as RNodes."""
    import ROOT

    frames = list(rdataframes) if isinstance(rdataframes, (list, tuple)) else [rdataframes]
    if not frames:
        raise ValueError("rdataframes is empty; pass an RDataFrame or a list of them")
    nodes = []
    for i, frame in enumerate(frames):
        try:
            nodes.append(ROOT.RDF.AsRNode(frame))
        except TypeError as error:
            raise TypeError(f"rdataframes[{i}] is a {type(frame).__name__}, not an RDataFrame") from error
    return nodes


def available_columns(node) -> list[str]:
    return [str(c) for c in node.GetColumnNames()]


def column_types(nodes: list, columns: list[str], option: str = "") -> list[ColumnType]:
    """The type of each column, the same in every dataframe; ``option`` is the argument naming them."""
    available = [available_columns(node) for node in nodes]
    types = []
    for column in columns:
        for i, names in enumerate(available):
            if column not in names:
                where = f"rdataframes[{i}]: " if i else ""
                error = unknown_column(column, names, option)
                raise type(error)(where + str(error))
        cxx = str(nodes[0].GetColumnType(column))
        for i, node in enumerate(nodes[1:], start=1):
            other = str(node.GetColumnType(column))
            if same_cxx_type(other) != same_cxx_type(cxx):
                raise TypeError(
                    f"column {column!r} has type {cxx} in rdataframes[0] but {other} in rdataframes[{i}]; "
                    "all dataframes must have the same column types"
                )
        types.append(parse_column_type(column, cxx))
    return types
