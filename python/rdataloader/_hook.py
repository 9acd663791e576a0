"""Registers ``ROOT.ML.RDataLoader`` as soon as ROOT is imported, without importing ROOT itself.

Imported at interpreter start-up by ``rdataloader.pth``; costs one entry in ``sys.meta_path`` and
nothing else until a module named ``ROOT`` is imported.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys


class _RegisteringLoader(importlib.abc.Loader):
    """Runs ROOT's own loader, then attaches the ``ROOT.ML`` namespace to the module it produced."""

    def __init__(self, wrapped: importlib.abc.Loader) -> None:
        self._wrapped = wrapped

    def create_module(self, spec):
        return self._wrapped.create_module(spec)

    def exec_module(self, module) -> None:
        self._wrapped.exec_module(module)
        from ._registration import register

        # ROOT replaces its module in sys.modules with a facade object while it executes.
        register(sys.modules.get("ROOT", module))

    def __getattr__(self, name):
        return getattr(self._wrapped, name)


class _ROOTImportWatcher(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != "ROOT":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _RegisteringLoader(spec.loader)
        return spec


def install() -> None:
    if "ROOT" in sys.modules:
        from ._registration import register

        register(sys.modules["ROOT"])
    elif not any(isinstance(f, _ROOTImportWatcher) for f in sys.meta_path):
        sys.meta_path.insert(0, _ROOTImportWatcher())


install()
