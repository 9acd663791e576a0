"""Engines compiled once per column signature and kept on disk, so that later processes skip cling's JIT;
and the engine's header precompiled once, so that they skip parsing it too.

Cling needs a few seconds to instantiate ``ROOT::ML::RDataLoader<Columns...>`` for a new signature and
compile it, in every process. The same instantiation, compiled by the system's C++ compiler into a shared
library, loads in milliseconds: cling is told that it exists (``extern template``) and calls into the
library instead of compiling its own. The first process that meets a signature compiles the library in the
background (a detached, low-priority process that outlives it; the builds of a cache take turns, as each
compiler needs most of a gigabyte) and runs on cling's code meanwhile; every later process loads the library.

The cache is ``$RDATALOADER_ENGINE_CACHE``, by default ``$XDG_CACHE_HOME/rdataloader`` (``~/.cache``); an
empty ``RDATALOADER_ENGINE_CACHE`` turns it off. A library is named by a hash of everything that shapes it:
the column types, the headers' contents, ROOT's version and the compiler command, so that a changed header
or another ROOT never loads a stale one. A signature whose compilation failed is not tried again (the
compiler's messages are kept next to it, in ``<name>.log``); one whose compiler was killed (out of memory) is.

Before any engine is built, cling parses the engine's header and the templates it instantiates: about half a
second and 40 MiB of every process's start-up. rootcling precompiles the header into a C++ module, once per
ROOT and header content, in the background like an engine; a later process registers it and imports the
parsed declarations instead (``header_module``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from ._paths import include_dir

ENVIRONMENT_VARIABLE = "RDATALOADER_ENGINE_CACHE"
#: A build marker older than this belongs to a compiler that died; the build is tried again.
_STALE_BUILD_SECONDS = 15 * 60
#: The ROOT libraries the engine calls into.
_ROOT_LIBRARIES = ("Core", "RIO", "Tree", "TreePlayer", "ROOTDataFrame", "ROOTVecOps", "Thread", "Imt")
#: The C++ module that the engine's header is precompiled into: ``<MODULE>.pcm`` beside its module map.
MODULE = "RDataLoaderHeaders"
#: Beside each library and inside each module directory: the size and digest of what was written, checked before
#: it is loaded, since a truncated library (a full disk, a killed build) crashes the process that maps it.
_CHECKSUM_SUFFIX = ".checksum"
_background_builds: list[subprocess.Popen] = []
#: What a compiler driver prints when the compiler proper was killed (gcc; clang).
_KILLED = re.compile(r"signal terminated program|unable to execute command")
#: Background builds of one cache take turns on this lock: each compiler needs most of a gigabyte.
_BUILD_LOCK = "build.lock"


def cache_dir() -> Path | None:
    """Where compiled engines are kept, or None when the cache is turned off."""
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    if configured is not None:
        return Path(configured).expanduser() if configured else None
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rdataloader"


def compile_command() -> list[str] | None:
    """The compiler command for an engine library, without source and output; None without a compiler."""
    import ROOT

    compiler = shutil.which(os.environ.get("CXX") or "c++")
    if compiler is None:
        return None
    # The language standard must be ROOT's own, as ACLiC uses it.
    standard = re.search(r"-std=\S+", str(ROOT.gSystem.GetMakeSharedLib()))
    library_dir = str(ROOT.gROOT.GetLibDir())
    return [
        compiler, standard.group(0) if standard else "-std=c++17",
        "-O2", "-DNDEBUG", "-fPIC", "-shared", "-pthread", "-fsigned-char", "-fsized-deallocation", "-w",
        f"-I{ROOT.gROOT.GetIncludeDir()}", f"-I{include_dir()}",
        f"-L{library_dir}", f"-Wl,-rpath,{library_dir}", *(f"-l{name}" for name in _ROOT_LIBRARIES),
    ]  # fmt: skip


def instantiation(cxx_types: Sequence[str]) -> str:
    return f"ROOT::ML::RDataLoader<{', '.join(cxx_types)}>"


def _name(kind: str, parts: Sequence[str]) -> str:
    """`kind` and a hash of `parts`, ROOT's version and the headers' contents."""
    import ROOT

    digest = hashlib.sha256()
    for part in (*parts, str(ROOT.gROOT.GetVersion()), str(ROOT.gROOT.GetGitCommit())):
        digest.update(part.encode() + b"\0")
    headers = include_dir()
    for header in sorted(headers.rglob("*.hxx")):
        digest.update(str(header.relative_to(headers)).encode() + b"\0" + header.read_bytes())
    return f"{kind}-{digest.hexdigest()[:24]}"


def library_name(cxx_types: Sequence[str], command: Sequence[str]) -> str:
    """A name that changes whenever the library would: types, headers, ROOT and the compiler command."""
    return _name("engine", (instantiation(cxx_types), *command))


def module_name(rootcling: str, header: str) -> str:
    """A name that changes whenever the module would: header (and where it is installed), ROOT, rootcling."""
    return _name("headers", (rootcling, str(include_dir() / header)))


def build(cxx_types: Sequence[str], directory: Path, command: Sequence[str]) -> Path:
    """Compiles the engine of `cxx_types` into `directory` and returns the library (raises if the compiler fails)."""
    directory.mkdir(parents=True, exist_ok=True)
    return _build_engine(cxx_types, directory / library_name(cxx_types, command), command)


def _build_engine(cxx_types: Sequence[str], stem: Path, command: Sequence[str]) -> Path:
    source = _write_source(cxx_types, stem)
    return _compile(source, source.with_suffix(".so"), command)


def _write_source(cxx_types: Sequence[str], stem: Path) -> Path:
    source = stem.with_suffix(".cxx")
    source.write_text(f'#include "ROOT/ML/RDataLoader.hxx"\n\ntemplate class {instantiation(cxx_types)};\n')
    return source


def _checksum(path: Path) -> dict:
    digest = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    return {"size": path.stat().st_size, "blake2b": digest}


def _write_checksum(path: Path, record: Path) -> None:
    """Records the size and digest of `path` in `record`, written under another name and renamed."""
    partial = record.with_name(f"{record.name}.{os.getpid()}")
    partial.write_text(json.dumps(_checksum(path)))
    os.replace(partial, record)


def _is_intact(path: Path, record: Path) -> bool:
    """Whether `path` is what was written: the size and digest recorded in `record` when it was made."""
    try:
        return json.loads(record.read_text()) == _checksum(path)
    except (OSError, ValueError):
        return False


def _discard_damaged(path: Path, record: Path, kind: str) -> None:
    warnings.warn(
        f"rdataloader: the {kind} {path} in the engine cache is damaged (it is not what was written: a full disk or "
        "an interrupted build); it is deleted and built again in the background, and this process goes without it",
        RuntimeWarning,
        stacklevel=4,
    )
    shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    record.unlink(missing_ok=True)


def _compile(source: Path, library: Path, command: Sequence[str]) -> Path:
    # Written under another name first: a process loading the cache never sees half a library. Its checksum
    # goes into place before it does, so that a library without one is known to be damaged.
    partial = library.with_suffix(f".so.{os.getpid()}")
    log = library.with_suffix(".log")
    try:
        result = subprocess.run([*command, str(source), "-o", str(partial)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            if result.returncode < 0 or _KILLED.search(result.stderr):
                # Killed from outside (out of memory, a batch system's limit): no log, so a later process retries.
                raise RuntimeError(f"the compiler of {source} was killed")
            log.write_text(result.stdout + result.stderr)
            raise RuntimeError(f"compiling {source} failed; the compiler's messages are in {log}")
        _write_checksum(partial, library.with_name(library.name + _CHECKSUM_SUFFIX))
        os.replace(partial, library)
        log.unlink(missing_ok=True)
    finally:
        partial.unlink(missing_ok=True)
    return library


def load(cxx_types: Sequence[str]) -> Path | None:
    """Makes cling use the compiled engine of `cxx_types` if the cache holds it, and returns its path;
    otherwise starts compiling it in the background and returns None.

    Must run before cling instantiates the engine for these types in this process.
    """
    directory = cache_dir()
    command = compile_command() if directory is not None else None
    if command is None:
        return None
    name = library_name(cxx_types, command)
    library = directory / f"{name}.so"
    checksum = library.with_name(library.name + _CHECKSUM_SUFFIX)
    if library.is_file() and not _is_intact(library, checksum):
        _discard_damaged(library, checksum, "compiled engine")
    if not library.is_file():
        _start_build(directory, name, {"engine": list(cxx_types), "stem": str(directory / name), "command": command})
        return None
    import ROOT

    if ROOT.gSystem.Load(str(library)) < 0 or not ROOT.gInterpreter.Declare(
        f"extern template class {instantiation(cxx_types)};"
    ):
        warnings.warn(
            f"rdataloader: the compiled engine {library} could not be used; cling compiles the engine instead. "
            f"Delete the file (or set {ENVIRONMENT_VARIABLE}= to turn the cache off) if this persists.",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    return library


def rootcling() -> str | None:
    """ROOT's dictionary and module generator, or None if this ROOT has none."""
    import ROOT

    return shutil.which("rootcling", path=str(ROOT.gROOT.GetBinDir())) or shutil.which("rootcling")


def build_header_module(module: Path, rootcling: str, header: str) -> Path:
    """Precompiles `header` (relative to the include directory) into the C++ module MODULE, in directory
    `module` beside the module map that names it; returns `module` (raises if rootcling fails)."""
    staging = module.with_name(f"{module.name}.{os.getpid()}")
    log = module.with_suffix(".log")
    staging.mkdir(parents=True)
    try:
        module_map = staging / "module.modulemap"
        module_map.write_text(f'module {MODULE} {{\n  header "{include_dir() / header}"\n  export *\n}}\n')
        # Nothing to generate but the module: no dictionary for anything in the header.
        link_def = staging / "LinkDef.h"
        link_def.write_text("".join(f"#pragma link off all {kind};\n" for kind in ("globals", "classes", "functions")))
        result = subprocess.run(
            [rootcling, "-f", str(staging / "dictionary.cxx"), "-s", str(staging / f"lib{MODULE}.so"), "-cxxmodule",
             f"-moduleMapFile={module_map}", f"-I{include_dir()}", header, str(link_def)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0 or not (staging / f"{MODULE}.pcm").is_file():
            log.write_text(result.stdout + result.stderr)
            raise RuntimeError(f"precompiling {header} failed; rootcling's messages are in {log}")
        for leftover in staging.iterdir():
            if leftover.name not in (module_map.name, f"{MODULE}.pcm"):
                leftover.unlink()
        _write_checksum(staging / f"{MODULE}.pcm", staging / f"{MODULE}.pcm{_CHECKSUM_SUFFIX}")
        # Renamed when complete: a process registering the module never sees half of it.
        os.replace(staging, module)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return module


def header_module(header: str) -> Path | None:
    """The directory holding `header` precompiled (see build_header_module) if the cache has it, for
    ``gInterpreter.RegisterPrebuiltModulePath``; otherwise starts precompiling it in the background and
    returns None."""
    import ROOT

    directory = cache_dir()
    # A ROOT built without runtime C++ modules parses headers only.
    modules = "runtime_cxxmodules" in str(ROOT.gROOT.GetConfigFeatures()).split()
    tool = rootcling() if directory is not None and modules else None
    if tool is None:
        return None
    name = module_name(tool, header)
    module = directory / name
    pcm = module / f"{MODULE}.pcm"
    if module.is_dir() and not _is_intact(pcm, pcm.with_name(pcm.name + _CHECKSUM_SUFFIX)):
        _discard_damaged(module, pcm.with_name(pcm.name + _CHECKSUM_SUFFIX), "precompiled header")
    if pcm.is_file():
        return module
    _start_build(directory, name, {"module": str(module), "rootcling": tool, "header": header})
    return None


def _start_build(directory: Path, name: str, job: dict) -> None:
    """Runs `job` (see _main) in a detached process, unless it is running or failed before."""
    if (directory / f"{name}.log").exists():
        return  # it failed before; the log says why
    marker = directory / f"{name}.building"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if marker.exists() and time.time() - marker.stat().st_mtime > _STALE_BUILD_SECONDS:
            marker.unlink(missing_ok=True)
        marker.touch(exist_ok=False)
    except OSError:
        return  # being built by another process, or the cache is not writable: nothing to do
    try:
        _background_builds.append(
            subprocess.Popen(
                [sys.executable, "-m", __name__, str(marker), json.dumps(job)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    except OSError:
        marker.unlink(missing_ok=True)  # a full disk, say: the loader runs on cling's parse all the same


def _main(arguments: list[str]) -> None:
    """The background build: ``python -m rdataloader._engine_cache MARKER JOB``, with JOB the JSON of
    ``{"engine": types, "stem": path, "command": [...]}`` or ``{"module": path, "rootcling": path, "header": name}``."""
    marker, job = Path(arguments[0]), json.loads(arguments[1])
    os.nice(19)
    try:
        with open(marker.with_name(_BUILD_LOCK), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            marker.touch()  # the wait for the lock does not count towards a stale build
            if "engine" in job:
                _build_engine(job["engine"], Path(job["stem"]), job["command"])
            else:
                build_header_module(Path(job["module"]), job["rootcling"], job["header"])
    except (RuntimeError, OSError):
        pass  # a log beside the output says why, and keeps a failed build from being tried again
    finally:
        marker.unlink(missing_ok=True)


if __name__ == "__main__":
    _main(sys.argv[1:])
