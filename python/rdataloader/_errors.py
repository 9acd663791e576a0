"""Errors raised by the loader, and translation of C++ exceptions at the cppyy boundary."""

from __future__ import annotations

import difflib
from typing import Iterable, Sequence


class ColumnError(KeyError, ValueError):
    """A column that does not exist, or that the loader cannot deliver.

    A ``KeyError`` as a missing key of a mapping is, and a ``ValueError`` as ROOT's own loader raises for the
    same mistakes, so that either ``except`` catches it.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def close_matches(name: str, candidates: Sequence[str]) -> str:
    """'did you mean ...? ' for the names of ``candidates`` close to ``name``, or ''."""
    close = difflib.get_close_matches(name, candidates, n=3)
    return f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""


def unknown_column(name: str, available: Iterable[str], option: str = "") -> ColumnError:
    """The error for a column the dataframe does not have, with its close matches; ``option`` names
    the argument that asked for it (``"target"``, ``"dtypes"``...), if not ``columns``."""
    available = list(available)
    asked = f"{option} names {name!r}, but there is " if option else ""
    return ColumnError(
        f"{asked}no column {name!r} in the dataframe; {close_matches(name, available)}(available: "
        f"{len(available)} columns: {', '.join(available[:12])}{', ...' if len(available) > 12 else ''})"
    )


def not_loaded(name: str, option: str, loaded: Sequence[str], available: Iterable[str]) -> ColumnError:
    """The error for ``option`` naming a column that is not among the loaded ``columns``: the way out is
    adding it to ``columns`` if the dataframe has it, or a close match if it does not."""
    if name not in set(available):
        return unknown_column(name, available, option)
    return ColumnError(
        f"{option} names {name!r}, a column of the dataframe that is not among columns={list(loaded)}; "
        f"{close_matches(name, loaded)}add {name!r} to columns=[...]"
    )


def repeated(option: str, names: Sequence[str]) -> None:
    """Raise for the first name that ``names`` (the value of ``option``) lists twice."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{option} lists {name!r} twice; name each column once")
        seen.add(name)


#: Python's exception for each standard C++ exception, derived classes before their bases (isinstance picks the
#: first match).
_CXX_EXCEPTIONS = (
    ("invalid_argument", ValueError),
    ("domain_error", ValueError),
    ("length_error", ValueError),
    ("out_of_range", OverflowError),
    ("range_error", RuntimeError),
    ("system_error", OSError),
    ("bad_alloc", MemoryError),
    ("exception", RuntimeError),
)


def translate_cxx_error(error: BaseException, nodes: Sequence = ()) -> BaseException:
    """The Python exception for a C++ exception raised through cppyy, chosen by its C++ type, with its
    ``what()`` as message; any other error is returned as it is. A ``ROOT::ML::RReadError`` also names the
    files of the dataframe it came from, when ``nodes`` (the loader's dataframes) are given."""
    import cppyy

    std = cppyy.gbl.std
    if not isinstance(error, std.exception):
        return error
    message = str(error.what())
    if isinstance(error, cppyy.gbl.ROOT.ML.RReadError) and int(error.GetDataFrame()) < len(nodes):
        description = str(nodes[int(error.GetDataFrame())].Describe().AsString()).split("\nProperty")[0]
        message += f" [{' '.join(description.split())}]"
    # By the C++ names of the error's classes: cppyy gives std::system_error a proxy that std.system_error is not.
    names = {getattr(cls, "__cpp_name__", "").removeprefix("std::") for cls in type(error).__mro__}
    python_type = next(python for cxx, python in _CXX_EXCEPTIONS if cxx in names)
    return python_type(message)
