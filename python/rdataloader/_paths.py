"""Where the C++ headers are: inside the installed package, or in the source tree."""

from __future__ import annotations

from pathlib import Path

_HEADER = Path("ROOT", "ML", "RDataLoader.hxx")


def include_dir() -> Path:
    """The directory that holds ``ROOT/ML/RDataLoader.hxx``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "include", here.parent.parent / "inc"):
        if (candidate / _HEADER).is_file():
            return candidate
    raise FileNotFoundError(
        f"rdataloader: C++ headers not found next to {here}; reinstall the package with 'pip install .'"
    )
