"""The prepared dataset: one epoch of a loader, as it delivers it, written as an RNTuple or a TTree.

What a loader spends on every epoch (Filters, Defines, the split, resampling, the shuffle) is then spent once:
the saved file holds plain columns, read on the fast path, in the order that epoch delivered them, so a
loader over it with ``shuffle=False`` and the same batch size delivers the same batches, bit for bit. The
keyword arguments that do so are kept in the file (:func:`saved_record`), beside the normalisation.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ._cxx import cxx_namespace
from ._errors import translate_cxx_error
from ._progress import Progress
from ._types import OUTPUT_DTYPES

WRITER_HEADER = "ROOT/ML/RDatasetWriter.hxx"
#: The key of the JSON record that the file holds beside the dataset.
METADATA_KEY = "rdataloader"
FORMATS = {"rntuple": "kRNTuple", "ttree": "kTTree"}
#: The name of the weights column when the loader's weights come from no column (class weights, resampling).
WEIGHT_NAME = "weight"


def save(loader, path: str | Path, name: str, format: str, overwrite: bool) -> Path:
    """Write the next epoch of `loader`'s split to `path` (see ``RDataLoader.save``)."""
    from . import __version__

    if format not in FORMATS:
        raise ValueError(f"format={format!r} is not a dataset format; choose 'rntuple' or 'ttree'")
    if not isinstance(name, str) or not name:
        raise ValueError(f"name={name!r}: the dataset needs a non-empty name, the one to open it by")
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it, or save to another path")
    spec = loader._spec
    if spec.collections:
        raise ValueError(
            "save() writes features, targets and weights; object collections cannot be saved yet: save a loader "
            "of the collections' fields as vector columns (max_vec_sizes=) instead"
        )
    engine, split = loader._engine_and_split()
    if engine.resumes(split):
        raise RuntimeError("save() writes a whole epoch, but this split's next epoch resumes a loaded state in its "
                           "middle: finish that epoch first (iterate it), or save before load_state_dict()")
    columns = _saved_columns(spec, engine.layout)
    ml = cxx_namespace(WRITER_HEADER)
    # Written under another name and renamed when complete: an interrupted save leaves no file that looks whole.
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    writer = _cxx_call(ml.RDatasetWriter, str(partial), name, getattr(ml.EDatasetFormat, FORMATS[format]),
                       [_cxx_column(ml, column, dtype, width) for column, dtype, width in columns])
    epoch = engine.num_epochs(split)
    saved = False
    try:
        with Progress(f"saving {path.name}", engine.num_batches(split), spec.progress) as progress:
            for arrays in engine.epoch(split):
                _fill(writer, arrays, columns)
                progress.update()
        record = _record(loader, columns, name, format, epoch, int(writer.GetNumEntries()), __version__)
        writer.SetMetadata(METADATA_KEY, json.dumps(record))
        _cxx_call(writer.Close)
        os.replace(partial, path)
        saved = True
    finally:
        if not saved:
            try:
                writer.Close()
            except Exception:  # noqa: BLE001  (the error that stopped the save is the one to see)
                pass
            partial.unlink(missing_ok=True)
    return path


def _cxx_call(function, *args):
    try:
        return function(*args)
    except Exception as error:
        raise translate_cxx_error(error) from error


def _saved_columns(spec, layout) -> list[tuple[str, str, int]]:
    """(name, dtype, values per entry) of each saved column, in the order of the batch's blocks."""
    columns = []
    for block in layout.blocks:
        names = spec.unpacked(block.columns) if block.columns else [spec.weights or WEIGHT_NAME]
        columns += [(c, str(block.dtype), spec.width(c)) for c in names]
    taken = [c for c, _, _ in columns[:-1]]
    if layout.blocks[-1].name == "weights" and not spec.weights and WEIGHT_NAME in taken:
        raise ValueError(f"save() names the weights column {WEIGHT_NAME!r}, but the loader has a column of that "
                         f"name: rename that column with a Define")
    return columns


def _cxx_column(ml, name: str, dtype: str, width: int):
    column = ml.RSavedColumn()
    column.fName = name
    column.fDType = getattr(ml.EDType, OUTPUT_DTYPES[dtype])
    column.fWidth = width
    return column


def _fill(writer, arrays: list[np.ndarray], columns: list[tuple[str, str, int]]) -> None:
    """Hand one batch's arrays to the writer: the address and row stride of each column's first value."""
    starts, strides = [], []
    remaining = iter(columns)
    for array in arrays:
        array = np.ascontiguousarray(array)
        element = 0
        while element < (array.shape[1] if array.ndim == 2 else 1):
            _, _, width = next(remaining)
            starts.append(array.ctypes.data + element * array.itemsize)
            strides.append(array.strides[0])
            element += width
    _cxx_call(writer.Fill, len(arrays[0]), starts, strides)


def _record(loader, columns, name: str, format: str, epoch: int, entries: int, version: str) -> dict[str, Any]:
    """What the file keeps about how it was made, and the keyword arguments that read it back."""
    spec = loader._spec
    weights = [c for c, _, _ in columns[len(spec.unpacked(spec.features)) + len(spec.targets):]]
    options: dict[str, Any] = {"columns": [c for c, _, _ in columns]}
    if spec.targets:
        options["target"] = spec.targets if len(spec.targets) > 1 else spec.targets[0]
    if weights:
        options["weights"] = weights[0]
    vectors = {c: width for c, _, width in columns if c in spec.max_vec_sizes}
    if vectors:
        options["max_vec_sizes"] = vectors
    dtypes = {c: dtype for c, dtype, _ in columns if dtype != "float32"}
    if dtypes:
        options["dtypes"] = dtypes
    normalization = loader.normalization
    return {
        "name": name,
        "format": format,
        "entries": entries,
        "loader_options": options,
        "made_by": {
            "rdataloader": version,
            "split": ("train", "validation")[loader._split] if loader._is_split else "all",
            "epoch": epoch,
            "batch_size": spec.batch_size,
            "shuffle": "global" if spec.global_shuffle else spec.shuffle,
            "seed": spec.seed,
            "drop_remainder": spec.drop_remainder,
            "rank": spec.rank,
            "world_size": spec.world_size,
        },
        "normalization": None if normalization is None else asdict(normalization),
        "reweighting": None if loader.reweighting is None else asdict(loader.reweighting),
    }


def saved_record(path: str | Path) -> dict[str, Any]:
    """The record ``save`` kept in `path`."""
    import ROOT

    file = ROOT.TFile.Open(str(path))
    if not file or file.IsZombie():
        raise OSError(f"cannot open {path}")
    try:
        stored = file.Get(METADATA_KEY)
        if not stored:
            raise ValueError(f"{path} was not written by RDataLoader.save(): it has no {METADATA_KEY!r} record")
        return json.loads(str(stored.GetTitle()))
    finally:
        file.Close()
