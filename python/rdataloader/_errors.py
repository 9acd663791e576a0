"""Errors raised by the loader, and translation of C++ exceptions at the cppyy boundary."""

from __future__ import annotations

import difflib
import re
from typing import Iterable, Sequence


class ColumnError(KeyError):
    """A column that does not exist, or that the loader cannot deliver."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def unknown_column(name: str, available: Iterable[str]) -> ColumnError:
    available = list(available)
    close = difflib.get_close_matches(name, available, n=3)
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    return ColumnError(
        f"no column {name!r} in the dataframe; {hint}(available: {len(available)} columns: "
        f"{', '.join(available[:12])}{', ...' if len(available) > 12 else ''})"
    )


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
