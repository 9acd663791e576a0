"""Engines compiled once per column signature and kept on disk, so that later processes skip cling's JIT.

Cling needs a few seconds to instantiate ``ROOT::ML::RDataLoader<Columns...>`` for a new signature and
compile it, in every process. The same instantiation, compiled by the system's C++ compiler into a shared
library, loads in milliseconds: cling is told that it exists (``extern template``) and calls into the
library instead of compiling its own. The first process that meets a signature compiles the library in the
background (a detached, low-priority process that outlives it) and runs on cling's code meanwhile; every
later process loads the library.

The cache is ``$RDATALOADER_ENGINE_CACHE``, by default ``$XDG_CACHE_HOME/rdataloader`` (``~/.cache``); an
empty ``RDATALOADER_ENGINE_CACHE`` turns it off. A library is named by a hash of everything that shapes it:
the column types, the headers' contents, ROOT's version and the compiler command, so that a changed header
or another ROOT never loads a stale one. A signature whose compilation failed is not tried again (the
compiler's messages are kept next to it, in ``<name>.log``).
"""

from __future__ import annotations

import hashlib
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
_background_builds: list[subprocess.Popen] = []


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


def library_name(cxx_types: Sequence[str], command: Sequence[str]) -> str:
    """A name that changes whenever the library would: types, headers, ROOT and the compiler command."""
    import ROOT

    digest = hashlib.sha256()
    for part in (instantiation(cxx_types), str(ROOT.gROOT.GetVersion()), str(ROOT.gROOT.GetGitCommit()), *command):
        digest.update(part.encode() + b"\0")
    headers = include_dir()
    for header in sorted(headers.rglob("*.hxx")):
        digest.update(str(header.relative_to(headers)).encode() + b"\0" + header.read_bytes())
    return f"engine-{digest.hexdigest()[:24]}"


def build(cxx_types: Sequence[str], directory: Path, command: Sequence[str]) -> Path:
    """Compiles the engine of `cxx_types` into `directory` and returns the library (raises if the compiler fails)."""
    directory.mkdir(parents=True, exist_ok=True)
    source = _write_source(cxx_types, directory / library_name(cxx_types, command))
    return _compile(source, source.with_suffix(".so"), command)


def _write_source(cxx_types: Sequence[str], stem: Path) -> Path:
    source = stem.with_suffix(".cxx")
    source.write_text(f'#include "ROOT/ML/RDataLoader.hxx"\n\ntemplate class {instantiation(cxx_types)};\n')
    return source


def _compile(source: Path, library: Path, command: Sequence[str]) -> Path:
    # Written under another name first: a process loading the cache never sees half a library.
    partial = library.with_suffix(f".so.{os.getpid()}")
    log = library.with_suffix(".log")
    try:
        result = subprocess.run([*command, str(source), "-o", str(partial)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log.write_text(result.stdout + result.stderr)
            raise RuntimeError(f"compiling {source} failed; the compiler's messages are in {log}")
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
    if not library.is_file():
        _start_build(cxx_types, directory, name, command)
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


def _start_build(cxx_types: Sequence[str], directory: Path, name: str, command: Sequence[str]) -> None:
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
        source = _write_source(cxx_types, directory / name)
        _background_builds.append(
            subprocess.Popen(
                [sys.executable, "-m", __name__, str(source), str(marker), *command],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    except OSError:
        marker.unlink(missing_ok=True)  # a full disk, say: the loader runs on cling's engine all the same


def _main(arguments: list[str]) -> None:
    """The background build: ``python -m rdataloader._engine_cache SOURCE MARKER COMMAND...``."""
    source, marker, command = Path(arguments[0]), Path(arguments[1]), arguments[2:]
    os.nice(19)
    try:
        _compile(source, source.with_suffix(".so"), command)
    except RuntimeError:
        pass  # the log next to the source says why, and keeps the build from being tried again
    finally:
        marker.unlink(missing_ok=True)


if __name__ == "__main__":
    _main(sys.argv[1:])
