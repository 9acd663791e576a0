"""The engine cache: engines compiled by the system compiler, loaded by later processes instead of being
compiled by cling, and the engine's header precompiled by rootcling, imported by later processes instead of
being parsed; each case runs the loader in fresh processes, as a user's successive runs would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from rdataloader import _engine_cache
from rdataloader._cxx import ENGINE_HEADER

#: The loader's engine signature over the conftest files with these columns (label last, as a target).
COLUMNS = ["idx", "x", "y", "label"]
CXX_TYPES = ["Long64_t", "Float_t", "Float_t", "Int_t"]

#: One process: two shuffled epochs with a validation split of a TTree (read from baskets) and one epoch
#: of the same TTree filtered (read by the event loop), written to OUT. Prints the engine library the
#: loader reports, the file mapped at the address of the engine's NextBatch (the library, when cling calls
#: the compiled code rather than its own), and the precompiled header the process imported.
WORKER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import ROOT

    path, out = sys.argv[1], sys.argv[2]
    df = ROOT.RDataFrame("tree", path)
    train, validation = ROOT.ML.RDataLoader(
        df, batch_size=32, columns=["idx", "x", "y", "label"], target="label", set_seed=11, batches_in_memory=3,
        drop_remainder=False,
    ).train_test_split(0.3)
    arrays = {}
    for epoch in range(2):
        for name, split in (("train", train), ("validation", validation)):
            batches = list(split.as_numpy())
            arrays[f"{name}{epoch}_x"] = np.concatenate([x for x, _ in batches])
            arrays[f"{name}{epoch}_y"] = np.concatenate([y for _, y in batches])
    # A filtered dataframe takes the event loop, which the library holds compiled too.
    filtered = ROOT.ML.RDataLoader(df.Filter("idx % 3 != 0"), batch_size=32, columns=["idx", "x", "y", "label"],
                                   target="label", set_seed=11, drop_remainder=False)
    arrays["filtered_x"] = np.concatenate([x for x, _ in filtered.as_numpy()])
    np.savez(out, **arrays)
    engine = "ROOT::ML::RDataLoader<" + ", ".join(sys.argv[3:]) + ">"
    address = ROOT.gInterpreter.Calc(
        "[]{ auto f = &" + engine + "::StartEpoch; void *p; std::memcpy(&p, &f, sizeof p); return (long)p; }()")
    mapped = None
    for line in open("/proc/self/maps"):
        fields = line.split()
        low, high = (int(v, 16) for v in fields[0].split("-"))
        if low <= address < high:
            mapped = fields[5] if len(fields) > 5 else None
    stats = train.stats()
    print(json.dumps({"engine_library": stats["engine_library"], "start_epoch_in": mapped,
                      "header_module": stats["header_module"]}))
    """
)


def run_worker(path: str, out: Path, cache: Path | None, **environment) -> dict:
    env = dict(os.environ, **environment)
    env[_engine_cache.ENVIRONMENT_VARIABLE] = "" if cache is None else str(cache)
    result = subprocess.run([sys.executable, "-c", WORKER, path, str(out), *CXX_TYPES], capture_output=True,
                            text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return {"report": json.loads(result.stdout.strip().splitlines()[-1]), "stderr": result.stderr,
            "arrays": dict(np.load(out))}


def library_path(cache: Path) -> Path:
    return cache / f"{_engine_cache.library_name(CXX_TYPES, _engine_cache.compile_command())}.so"


def module_path(cache: Path) -> Path:
    return cache / _engine_cache.module_name(_engine_cache.rootcling(), ENGINE_HEADER)


def is_built(path: Path) -> bool:
    return path.exists() and not path.with_name(f"{path.stem}.building").exists()


def wait_for(condition, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the background build did not finish in time"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def compiled_cache(tmp_path_factory) -> Path:
    """A cache holding the engine of CXX_TYPES and the precompiled header, built in this process (not
    loaded here)."""
    cache = tmp_path_factory.mktemp("engine-cache")
    library = _engine_cache.build(CXX_TYPES, cache, _engine_cache.compile_command())
    assert library == library_path(cache) and library.is_file()
    module = _engine_cache.build_header_module(module_path(cache), _engine_cache.rootcling(), ENGINE_HEADER)
    assert sorted(p.name for p in module.iterdir()) == [f"{_engine_cache.MODULE}.pcm",
                                                        f"{_engine_cache.MODULE}.pcm.checksum", "module.modulemap"]
    return cache


def test_a_cached_engine_runs_the_compiled_code_and_delivers_what_cling_does(compiled_cache, clustered_file,
                                                                            tmp_path):
    compiled = run_worker(clustered_file, tmp_path / "compiled.npz", compiled_cache)
    jitted = run_worker(clustered_file, tmp_path / "jitted.npz", None)
    library = str(library_path(compiled_cache))
    assert compiled["report"] == {"engine_library": library, "start_epoch_in": library,
                                  "header_module": str(module_path(compiled_cache))}
    assert jitted["report"]["engine_library"] is None and jitted["report"]["start_epoch_in"] != library
    assert jitted["report"]["header_module"] is None
    assert compiled["arrays"].keys() == jitted["arrays"].keys()
    for name, array in jitted["arrays"].items():
        assert np.array_equal(compiled["arrays"][name], array), name
    # The epochs are real: every entry once per epoch across the splits, in a new order each epoch.
    arrays = compiled["arrays"]
    for epoch in range(2):
        seen = np.concatenate([arrays[f"train{epoch}_x"][:, 0], arrays[f"validation{epoch}_x"][:, 0]])
        assert np.array_equal(np.sort(seen), np.arange(1000))
    assert not np.array_equal(arrays["train0_x"], arrays["train1_x"])
    assert np.array_equal(np.sort(arrays["filtered_x"][:, 0]), [i for i in range(1000) if i % 3])


def test_a_missing_engine_and_header_are_compiled_in_the_background_for_the_next_process(clustered_file, tmp_path):
    cache = tmp_path / "cache"
    first = run_worker(clustered_file, tmp_path / "first.npz", cache)
    assert first["report"]["engine_library"] is None and first["report"]["header_module"] is None
    library, module = library_path(cache), module_path(cache)
    wait_for(lambda: is_built(library) and is_built(module))
    second = run_worker(clustered_file, tmp_path / "second.npz", cache)
    assert second["report"] == {"engine_library": str(library), "start_epoch_in": str(library),
                                "header_module": str(module)}
    for name, array in first["arrays"].items():
        assert np.array_equal(second["arrays"][name], array), name


def test_a_failed_compilation_is_logged_and_not_tried_again(clustered_file, tmp_path):
    cache = tmp_path / "cache"
    failing = shutil.which("false")
    first = run_worker(clustered_file, tmp_path / "first.npz", cache, CXX=failing)
    assert first["report"]["engine_library"] is None
    names = lambda: sorted(p.name for p in cache.iterdir())
    wait_for(lambda: any(n.endswith(".log") for n in names()) and not any(n.endswith(".building") for n in names()))
    before = names()
    second = run_worker(clustered_file, tmp_path / "second.npz", cache, CXX=failing)
    assert second["report"]["engine_library"] is None
    time.sleep(1)
    assert names() == before and not any(n.endswith(".so") for n in before)


def test_an_unusable_library_is_reported_and_cling_compiles_the_engine(clustered_file, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    library = library_path(cache)
    library.write_bytes(b"not a shared library")
    # Intact as written, so it is loaded, and the loader must survive its failure.
    _engine_cache._write_checksum(library, library.with_name(library.name + ".checksum"))
    run = run_worker(clustered_file, tmp_path / "run.npz", cache)
    assert run["report"]["engine_library"] is None
    assert "could not be used; cling compiles the engine instead" in run["stderr"]
    assert np.array_equal(np.sort(np.concatenate([run["arrays"]["train0_x"][:, 0],
                                                  run["arrays"]["validation0_x"][:, 0]])), np.arange(1000))


def test_the_library_name_follows_types_headers_and_compiler(tmp_path, monkeypatch):
    command = _engine_cache.compile_command()
    name = _engine_cache.library_name(CXX_TYPES, command)
    assert name == _engine_cache.library_name(list(CXX_TYPES), list(command))
    assert name != _engine_cache.library_name(CXX_TYPES[:-1] + ["Long64_t"], command)
    assert name != _engine_cache.library_name(CXX_TYPES, command + ["-O3"])
    headers = tmp_path / "include"
    shutil.copytree(_engine_cache.include_dir(), headers)
    monkeypatch.setattr(_engine_cache, "include_dir", lambda: headers)
    assert _engine_cache.library_name(CXX_TYPES, command) == name
    batch_header = headers / "ROOT" / "ML" / "RBatch.hxx"
    batch_header.write_text(batch_header.read_text() + "\n")
    assert _engine_cache.library_name(CXX_TYPES, command) != name


def test_the_header_module_name_follows_headers_their_place_and_root(tmp_path, monkeypatch):
    rootcling = _engine_cache.rootcling()
    name = _engine_cache.module_name(rootcling, ENGINE_HEADER)
    assert name.startswith("headers-") and name == _engine_cache.module_name(rootcling, ENGINE_HEADER)
    assert name != _engine_cache.module_name(str(tmp_path / "rootcling"), ENGINE_HEADER)
    headers = tmp_path / "include"
    shutil.copytree(_engine_cache.include_dir(), headers)
    monkeypatch.setattr(_engine_cache, "include_dir", lambda: headers)
    # The module map names the header by its path: headers installed elsewhere need a module of their own.
    moved = _engine_cache.module_name(rootcling, ENGINE_HEADER)
    assert moved != name
    batch_header = headers / "ROOT" / "ML" / "RBatch.hxx"
    batch_header.write_text(batch_header.read_text() + "\n")
    assert _engine_cache.module_name(rootcling, ENGINE_HEADER) not in (name, moved)


def test_a_header_that_rootcling_rejects_leaves_a_log_and_no_module(tmp_path, monkeypatch):
    headers = tmp_path / "include"
    shutil.copytree(_engine_cache.include_dir(), headers)
    (headers / ENGINE_HEADER).write_text("this is not C++;\n")
    monkeypatch.setattr(_engine_cache, "include_dir", lambda: headers)
    module = tmp_path / "cache" / "headers-broken"
    module.parent.mkdir()
    with pytest.raises(RuntimeError, match="rootcling's messages are in"):
        _engine_cache.build_header_module(module, _engine_cache.rootcling(), ENGINE_HEADER)
    assert "this is not C++" in module.with_suffix(".log").read_text()
    assert sorted(p.name for p in module.parent.iterdir()) == ["headers-broken.log"]


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("damaged", ["engine", "header module"])
def test_a_damaged_cache_entry_is_rebuilt_with_a_warning_instead_of_crashing(compiled_cache, clustered_file, tmp_path,
                                                                            damaged):
    # A truncated library used to crash every later process with a bus error when it was mapped, and a
    # truncated module stopped them all with an ImportError, until the user found and deleted it.
    cache = tmp_path / "cache"
    shutil.copytree(compiled_cache, cache)
    library, module = library_path(cache), module_path(cache)
    truncate(library if damaged == "engine" else module / f"{_engine_cache.MODULE}.pcm")
    run = run_worker(clustered_file, tmp_path / "run.npz", cache)
    name = "compiled engine" if damaged == "engine" else "precompiled header"
    assert f"the {name} {library if damaged == 'engine' else module} in the engine cache is damaged" in run["stderr"]
    reference = run_worker(clustered_file, tmp_path / "reference.npz", None)
    for key, array in reference["arrays"].items():
        assert np.array_equal(run["arrays"][key], array), key
    wait_for(lambda: is_built(library) and is_built(module))
    again = run_worker(clustered_file, tmp_path / "again.npz", cache)
    assert again["report"] == {"engine_library": str(library), "start_epoch_in": str(library),
                               "header_module": str(module)}
    assert "damaged" not in again["stderr"]


def test_a_library_without_its_checksum_is_not_loaded(compiled_cache, clustered_file, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(compiled_cache, cache)
    library = library_path(cache)
    library.with_name(library.name + ".checksum").unlink()
    run = run_worker(clustered_file, tmp_path / "run.npz", cache)
    assert run["report"]["engine_library"] is None and "is damaged" in run["stderr"]


def test_the_cache_location_and_turning_it_off(monkeypatch, tmp_path):
    monkeypatch.delenv(_engine_cache.ENVIRONMENT_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _engine_cache.cache_dir() == tmp_path / "rdataloader"
    monkeypatch.setenv(_engine_cache.ENVIRONMENT_VARIABLE, str(tmp_path / "engines"))
    assert _engine_cache.cache_dir() == tmp_path / "engines"
    monkeypatch.setenv(_engine_cache.ENVIRONMENT_VARIABLE, "")
    assert _engine_cache.cache_dir() is None


@pytest.mark.parametrize("problem", ["cache is a file", "no compiler"])
def test_without_a_usable_cache_or_compiler_cling_compiles_the_engine(clustered_file, tmp_path, problem):
    if problem == "cache is a file":
        cache = tmp_path / "not-a-directory"
        cache.write_text("")
        run = run_worker(clustered_file, tmp_path / "run.npz", cache)
    else:
        cache = tmp_path / "cache"
        run = run_worker(clustered_file, tmp_path / "run.npz", cache, CXX=str(tmp_path / "no-such-compiler"))
    assert run["report"]["engine_library"] is None
    assert np.array_equal(np.sort(np.concatenate([run["arrays"]["train0_x"][:, 0],
                                                  run["arrays"]["validation0_x"][:, 0]])), np.arange(1000))
    if problem == "cache is a file":
        time.sleep(1)
        assert cache.is_file()
    else:
        # Precompiling the header needs only ROOT's rootcling; no engine is written (the lock is the builds').
        wait_for(lambda: is_built(module_path(cache)))
        assert sorted(p.name for p in cache.iterdir()) == sorted([_engine_cache._BUILD_LOCK, module_path(cache).name])


def fake_compiler(tmp_path: Path, name: str, body: str) -> str:
    """An executable standing in for the C++ compiler: ``body`` runs with the arguments source, -o, output."""
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


def test_a_killed_compiler_leaves_no_log_so_that_a_later_process_tries_again(tmp_path):
    source = tmp_path / "engine-x.cxx"
    source.write_text("int x;\n")
    killed = fake_compiler(tmp_path, "killed", "kill -9 $$")
    with pytest.raises(RuntimeError, match="was killed"):
        _engine_cache._compile(source, source.with_suffix(".so"), [killed])
    assert not source.with_suffix(".log").exists()
    # gcc's driver survives its killed compiler proper and says so
    oom = fake_compiler(tmp_path, "oom", 'echo "c++: fatal error: Killed signal terminated program cc1plus" >&2; exit 1')
    with pytest.raises(RuntimeError, match="was killed"):
        _engine_cache._compile(source, source.with_suffix(".so"), [oom])
    assert not source.with_suffix(".log").exists()
    broken = fake_compiler(tmp_path, "broken", 'echo "engine-x.cxx:1: error: this is not C++" >&2; exit 1')
    with pytest.raises(RuntimeError, match="messages are in"):
        _engine_cache._compile(source, source.with_suffix(".so"), [broken])
    assert "this is not C++" in source.with_suffix(".log").read_text()


def test_the_background_builds_of_a_cache_take_turns(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    times = tmp_path / "times"
    compiler = fake_compiler(tmp_path, "slow", f'echo "start $(date +%s.%N)" >> {times}; sleep 1; '
                                               f'echo "end $(date +%s.%N)" >> {times}; echo built > "$3"')
    builds = []
    for k in range(3):
        marker = cache / f"engine-{k}.building"
        marker.touch()
        job = {"engine": ["float"], "stem": str(cache / f"engine-{k}"), "command": [compiler]}
        builds.append(subprocess.Popen([sys.executable, "-m", "rdataloader._engine_cache", str(marker), json.dumps(job)],
                                       env={**os.environ, "PYTHONPATH": str(Path(_engine_cache.__file__).parents[1])}))
    for build in builds:
        assert build.wait(timeout=120) == 0
    events = sorted((float(t), kind) for kind, t in (line.split() for line in times.read_text().splitlines()))
    assert [kind for _, kind in events] == ["start", "end"] * 3, events  # never two compilers at once
    assert sorted(p.name for p in cache.glob("*.so")) == [f"engine-{k}.so" for k in range(3)]
    assert not list(cache.glob("*.building"))
