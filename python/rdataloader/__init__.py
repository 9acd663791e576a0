"""Shuffled mini-batches from ROOT's RDataFrame for NumPy, PyTorch, TensorFlow and JAX.

After ``pip install``, ``import ROOT`` is enough: the loader is ``ROOT.ML.RDataLoader``.
``rdataloader.RDataLoader`` is the same class. Importing this package is cheap: ROOT and NumPy
are imported on first use of the loader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _hook  # noqa: F401  (attaches ROOT.ML now, or when ROOT is imported)

__version__ = "0.1.0"
__all__ = ["Normalization", "RDataLoader", "include_dir", "saved_record", "suggest_max_len"]

if TYPE_CHECKING:
    from ._collections import suggest_max_len
    from ._loader import RDataLoader
    from ._normalization import Normalization
    from ._save import saved_record


def include_dir() -> str:
    """Directory to add to the include path of C++ code using ``ROOT/ML/RDataLoader.hxx``."""
    from ._paths import include_dir as _include_dir

    return str(_include_dir())


def __getattr__(name: str):
    if name == "RDataLoader":
        from ._loader import RDataLoader

        return RDataLoader
    if name == "Normalization":
        from ._normalization import Normalization

        return Normalization
    if name == "saved_record":
        from ._save import saved_record

        return saved_record
    if name == "suggest_max_len":
        from ._collections import suggest_max_len

        return suggest_max_len
    raise AttributeError(f"module 'rdataloader' has no attribute '{name}'")
