"""The ``ROOT.ML`` namespace: our Python loader plus, lazily, the C++ ``ROOT::ML`` namespace."""

from __future__ import annotations

import types


class _MLNamespace(types.SimpleNamespace):
    """``ROOT.ML``: ``RDataLoader`` and ``suggest_max_len`` are Python; any other name is looked up in C++
    ``ROOT::ML`` (``RDataLoaderOptions``, ``RTensorView``, ...) after the headers are loaded."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if name == "RDataLoader":
            from ._loader import RDataLoader

            return RDataLoader
        if name == "suggest_max_len":
            from ._collections import suggest_max_len

            return suggest_max_len
        from . import _cxx

        return getattr(_cxx.cxx_namespace(_cxx.LENGTHS_HEADER), name)

    def __repr__(self) -> str:
        return "<namespace ROOT.ML (rdataloader)>"


def register(root_module) -> None:
    """Attach ``ROOT.ML`` to ROOT's module, refusing to hide an ``ML`` that is not ours."""
    existing = root_module.__dict__.get("ML") or getattr(type(root_module), "ML", None)
    if existing is not None and not isinstance(existing, _MLNamespace):
        raise ImportError(
            f"rdataloader: ROOT already provides ROOT.ML ({existing!r}, from {getattr(root_module, '__file__', '?')}); "
            "rdataloader would hide it. Use 'from rdataloader import RDataLoader' instead of ROOT.ML.RDataLoader, "
            "or uninstall rdataloader if this ROOT ships its own."
        )
    if existing is None:
        setattr(root_module, "ML", _MLNamespace())
