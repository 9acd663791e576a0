"""The C++ side: loading the headers into cling once, and building engines for column signatures."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

from . import _engine_cache
from ._errors import translate_cxx_error
from ._paths import include_dir
from ._progress import CxxProgress

_lock = threading.Lock()
#: The engine's header, declared before the first loader is built.
ENGINE_HEADER = "ROOT/ML/RDataLoader.hxx"
#: Collection lengths (``suggest_max_len``): declared only when needed, as parsing costs start-up time.
LENGTHS_HEADER = "ROOT/ML/RLengthDistribution.hxx"
_declared: set[str] = set()
#: The engine's header precompiled (see ``_engine_cache.header_module``), when this process imports it.
_header_module: Path | None = None


def header_module() -> str | None:
    """The precompiled engine header this process imported instead of parsing it, if any."""
    return None if _header_module is None else str(_header_module)


def _load_headers(headers: Sequence[str]) -> None:
    global _header_module
    with _lock:
        missing = [header for header in headers if header not in _declared]
        if not missing:
            return
        import ROOT

        interpreter = ROOT.gInterpreter
        if not _declared:
            if interpreter.CheckClassTemplate("ROOT::ML::RDataLoader") and not interpreter.Declare(
                "#ifndef ROOT_ML_RDataLoader\n#error\n#endif"
            ):
                raise ImportError(
                    "rdataloader: a different ROOT::ML::RDataLoader is already declared in this ROOT session; "
                    "rdataloader's headers cannot be loaded next to it"
                )
            interpreter.AddIncludePath(str(include_dir()))
            # Registered before the first #include of the header, which cling then serves from the module.
            module = _engine_cache.header_module(ENGINE_HEADER)
            if module is not None and interpreter.RegisterPrebuiltModulePath(str(module)):
                _header_module = module
        if not interpreter.Declare("\n".join(f'#include "{header}"' for header in missing)):
            damaged = (
                ""
                if _header_module is None
                else f"; if the precompiled header {_header_module} is damaged, delete that directory (or set "
                f"{_engine_cache.ENVIRONMENT_VARIABLE}= to turn the cache off)"
            )
            raise ImportError(f"rdataloader: cling could not compile {', '.join(missing)} in {include_dir()}{damaged}")
        _declared.update(missing)


def cxx_namespace(*headers: str):
    """The C++ namespace ``ROOT::ML``, with the engine's header and ``headers`` loaded."""
    _load_headers((ENGINE_HEADER, *headers))
    import cppyy

    return cppyy.gbl.ROOT.ML


#: Per signature: the engine class, and the compiled library that runs it (None where cling compiled it).
_engines: dict[tuple[str, ...], tuple[object, str | None]] = {}


def engine_library(cxx_types: Sequence[str]) -> str | None:
    """The compiled library that runs the engine of these types in this process, if cling did not compile it."""
    return _engines[tuple(cxx_types)][1]


def engine_class(cxx_types: Sequence[str]):
    """``ROOT::ML::RDataLoader<cxx_types...>``, compiled once per signature and process (or loaded from
    the engine cache, see ``_engine_cache``)."""
    key = tuple(cxx_types)
    with _lock:
        cls, _ = _engines.get(key, (None, None))
    if cls is None:
        ml = cxx_namespace()
        library = _engine_cache.load(key)
        cls = ml.RDataLoader[key]
        # Waiting for a loading thread must not hold the GIL: the consumer may run other Python threads.
        ml.REpochRun.Next.__release_gil__ = True
        ml.REpochRun.WaitForNext.__release_gil__ = True
        ml.REpochRun.Stop.__release_gil__ = True
        cls.StartEpoch.__release_gil__ = True
        cls.StopEpochs.__release_gil__ = True
        # Passes over the data, shown by a display thread (see reporting()).
        cls.ComputeFeatureStatistics.__release_gil__ = True
        # These stop the running epochs too.
        cls.SetNumEpochs.__release_gil__ = True
        cls.SetSeed.__release_gil__ = True
        cls.SetWorker.__release_gil__ = True
        with _lock:
            _engines[key] = (cls, None if library is None else str(library))
    return cls


def reporting(progress, enabled: bool) -> CxxProgress:
    """The display, while a C++ call runs, of the passes it reports to ``progress`` (a ``ROOT::ML::RProgress``):
    the call must release the GIL."""
    import cppyy

    return CxxProgress(int(cppyy.ll.cast["std::uintptr_t"](progress.GetAddress())), enabled)


def make_engine(builds: Sequence[Sequence], columns: Sequence[str], cxx_types: Sequence[str], options, progress: bool):
    """Construct the engine over ``builds`` (the dataframes, then each further build of them), which runs the
    passes over the data that the options need (counting the entries that pass the Filters, the classes, fitting
    the normalisation), shown as they go if ``progress`` (they report to ``options.fProgress``)."""
    import ROOT

    cls = engine_class(cxx_types)
    build_vector = ROOT.std.vector["std::vector<ROOT::RDF::RNode>"]()
    for nodes in builds:
        node_vector = ROOT.std.vector["ROOT::RDF::RNode"]()
        for node in nodes:
            node_vector.push_back(node)
        build_vector.push_back(node_vector)
    engine = cls.__new__(cls)
    constructor = _builds_constructor(cls)
    constructor.__release_gil__ = True
    try:
        with reporting(options.fProgress, progress):
            constructor(engine, build_vector, list(columns), options)
    except Exception as error:
        raise translate_cxx_error(error) from error
    return engine


def _builds_constructor(cls):
    """The engine's constructor from builds of a list of dataframes. Called through overload resolution, a C++
    exception would come back as a TypeError that sums up every constructor tried, without its C++ type."""
    for signature, types in cls.__init__.func_overloads_types.items():
        if types["input_types"][0].startswith("vector<vector<"):
            return cls.__init__.__overload__(signature[signature.index("(") + 1 : signature.rindex(")")])
    raise LookupError(f"{cls.__cpp_name__} has no constructor from builds of a list of dataframes")
