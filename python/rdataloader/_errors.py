"""Errors raised by the loader, and translation of C++ exceptions at the cppyy boundary."""

from __future__ import annotations

import difflib
import re
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


_CXX_EXCEPTIONS = {
    "invalid_argument": ValueError,
    "domain_error": ValueError,
    "length_error": ValueError,
    "out_of_range": OverflowError,
    "range_error": RuntimeError,
    "runtime_error": RuntimeError,
    "logic_error": RuntimeError,
    "system_error": RuntimeError,
    "bad_alloc": MemoryError,
    "exception": RuntimeError,
}
# cppyy reports a C++ exception as "<signature> =>\n    <type>: <what>", one such pair per overload tried.
_CXX_LINE = re.compile(r"^\s*(%s): (.*)$" % "|".join(_CXX_EXCEPTIONS), re.MULTILINE)


def translate_cxx_error(error: BaseException) -> BaseException:
    """The Python exception that corresponds to a C++ exception raised through cppyy."""
    match = _CXX_LINE.search(str(error))
    if match is None:
        return error
    return _CXX_EXCEPTIONS[match.group(1)](match.group(2).strip())


def with_source(error: BaseException, nodes: Sequence) -> BaseException:
    """Add the files of the dataframe a reading error names (``... of dataframe 2 failed: ...``)."""
    match = re.search(r"of dataframe (\d+)", str(error))
    if match is None or int(match.group(1)) >= len(nodes):
        return error
    description = str(nodes[int(match.group(1))].Describe().AsString()).split("\nProperty")[0]
    return type(error)(f"{error} [{' '.join(description.split())}]")
