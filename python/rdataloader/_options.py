"""The C++ options of a checked spec, and C++'s rules applied to them: the rules that combine options (and the
default shuffle window) are written once, in ``RDataLoaderOptions::Checked()``, and spelled here in keywords."""

from __future__ import annotations

import functools
from collections.abc import Mapping

from . import _cxx
from ._errors import translate_cxx_error
from ._spec import LoaderSpec, SplitSpec
from ._types import OUTPUT_DTYPES

_SAMPLING_KINDS = {"undersampling": "kUndersampling", "oversampling": "kOversampling"}

#: How C++'s messages about the options are spelled for Python users: RDataLoaderOptions' field or setting ->
#: the keyword argument that sets it (``ROOT::ML::ROptionSpelling``).
SPELLING = {
    "ROOT::ML::RDataLoader": "RDataLoader",
    "fBatchSize": "batch_size",
    "fBatchesInMemory": "batches_in_memory",
    "fValidationSplit": "test_size",
    "fSplitKey": "split_key",
    "fNumFolds": "n_folds",
    "fFold": "fold",
    "fWorldSize": "world_size",
    "fRank": "rank",
    "fTargets": "target",
    "fWeights": "weights",
    "fSampling": "sampling_type",
    "fSamplingRatio": "sampling_ratio",
    "fResampleBy = ESampleBy::kTarget": "resample_by='target'",
    "class weights": "class_weights or reweight",
    "fClassWeights": "class_weights",
    "fBalanceClasses": "class_weights='balanced'",
    "fReweight": "reweight",
    "fNormalizeColumns": "normalize",
    "fLoadEager": "load_eager=True",
    "fShuffle = EShuffle::kGlobal": "shuffle='global'",
    "fShuffle = EShuffle::kWindow": "shuffle=True",
    "ECollectionLayout::kPacked": "collections_layout='packed'",
    "ECollectionLayout::kPadded": "collections_layout='padded'",
    "fCacheDirectory": "cache_dir",
    "fCollections": "collections",
}


def _cxx_options(spec: LoaderSpec, split: SplitSpec):
    ml = _cxx.cxx_namespace()
    options = ml.RDataLoaderOptions()
    options.fBatchSize = spec.batch_size
    options.fBatchesInMemory = spec.batches_in_memory or 0  # 0: C++'s default window
    options.fLoadEager = spec.load_eager
    options.fWeights = spec.weights
    options.fBalanceClasses = spec.class_weights == "balanced"
    if isinstance(spec.class_weights, Mapping):
        for label, weight in spec.class_weights.items():
            options.fClassWeights[label] = weight
    if spec.sampling is not None:
        options.fSampling = getattr(ml.ESampling, _SAMPLING_KINDS[spec.sampling.kind])
        options.fSamplingRatio = spec.sampling.ratio
        options.fReplacement = spec.sampling.replacement
        options.fResampleBy = ml.ESampleBy.kTarget if spec.sampling.by == "target" else ml.ESampleBy.kDataFrame
    options.fValidationSplit = split.test_size
    options.fSplitKey = split.key or ""
    options.fNumFolds = split.n_folds
    options.fFold = split.fold
    options.fShuffle = (ml.EShuffle.kGlobal if spec.global_shuffle else
                        ml.EShuffle.kWindow if spec.shuffle else ml.EShuffle.kNone)
    options.fCacheDirectory = spec.cache_dir or ""
    options.fDropRemainder = spec.drop_remainder
    options.fSeed = spec.seed
    options.fVecPadding = spec.vec_padding
    options.fRank = spec.rank
    options.fWorldSize = spec.world_size
    options.fReadThreads = spec.read_threads
    for t in spec.targets:
        options.fTargets.push_back(t)
    for name, size in spec.max_vec_sizes.items():
        options.fMaxVecSizes[name] = size
    for name, dtype in spec.dtypes.items():
        options.fDTypes[name] = getattr(ml.EDType, OUTPUT_DTYPES[dtype])
    for collection in spec.collections:
        options.fCollections.push_back(_collection_options(ml, collection))
    if spec.reweight is not None:
        options.fReweight = spec.reweight.to_cxx(ml)
    return options


def checked_options(spec: LoaderSpec, split: SplitSpec = SplitSpec()):
    """The ``ROOT::ML::RDataLoaderOptions`` of ``spec`` and ``split``, checked by C++: raises what the engine
    would raise, in keyword names, as a ``ValueError`` whose ``option`` is the keyword at fault."""
    engine = _cxx.engine_class([t.cxx for t in spec.engine_types])
    options = _cxx_options(spec, split)
    try:
        return _check(engine, (options, spec.engine_columns, len(spec.nodes)))
    except Exception as error:
        translated = translate_cxx_error(error)
        if translated is error:  # not a C++ exception
            raise
        option = str(error.GetOption()) if hasattr(error, "GetOption") else ""
        translated.option = SPELLING[option].split("=")[0] if option in SPELLING else None
        raise translated from None


def _check(engine, arguments):
    """``CheckOptions(*arguments)``; a refusal is checked again with the keywords' spelling, which only a message
    needs (the map of spellings costs every process its stubs)."""
    try:
        return engine.CheckOptions(*arguments)
    except Exception:
        return engine.CheckOptions(*arguments, _spelling())


@functools.cache
def _spelling():
    spelling = _cxx.cxx_namespace().ROptionSpelling()
    for cxx, python in SPELLING.items():
        spelling[cxx] = python
    return spelling


def _collection_options(ml, collection):
    options = ml.RCollectionOptions()
    options.fName = collection.name
    for name in collection.fields:
        options.fFields.push_back(name)
    options.fMaxLength = collection.max_len
    options.fSortBy = collection.sort_by or ""
    options.fLayout = ml.ECollectionLayout.kPacked if collection.packed else ml.ECollectionLayout.kPadded
    options.fDType = getattr(ml.EDType, OUTPUT_DTYPES[collection.dtype])
    return options
