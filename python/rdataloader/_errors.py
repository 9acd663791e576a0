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


def _cxx_message(error: BaseException) -> str:
    # cppyy formats C++ exceptions as "<signature> =>\n    <type>: <what>"; keep the what().
    text = str(error)
    last = text.strip().splitlines()[-1].strip() if text.strip() else text
    kind, sep, what = last.partition(": ")
    return what if sep and kind.replace("_", "").isalpha() else last


def translate_cxx_error(error: BaseException) -> BaseException:
    """The Python exception that corresponds to a C++ exception raised through cppyy."""
    name = type(error).__name__
    message = _cxx_message(error)
    if name in ("invalid_argument", "domain_error", "length_error"):
        return ValueError(message)
    if name == "out_of_range":
        return OverflowError(message)
    if name in ("runtime_error", "logic_error", "exception", "bad_alloc", "system_error", "range_error"):
        return RuntimeError(message)
    return error


def with_source(error: BaseException, nodes: Sequence) -> BaseException:
    """Add the files of the dataframe a reading error names (``... of dataframe 2 failed: ...``)."""
    match = re.search(r"of dataframe (\d+)", str(error))
    if match is None or int(match.group(1)) >= len(nodes):
        return error
    description = str(nodes[int(match.group(1))].Describe().AsString()).split("\nProperty")[0]
    return type(error)(f"{error} [{' '.join(description.split())}]")
