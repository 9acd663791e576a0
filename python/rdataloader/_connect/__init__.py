"""One module per framework; each is imported only when its ``as_*`` method is called."""

from __future__ import annotations

import importlib


def require(module: str, extra: str):
    """Import an optional framework, or explain how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"rdataloader: this output needs '{module}', which is not installed; "
            f"install it with: pip install 'rdataloader[{extra}]'"
        ) from error


def map_arrays(function, item):
    """``function`` applied to an array, or to each array of a dictionary of them (a batch's inputs
    when the loader has collections)."""
    if isinstance(item, dict):
        return {key: function(value) for key, value in item.items()}
    return function(item)
