"""Loaders on the data physicists train on: NanoAOD-like jagged events, as TTree and RNTuple.

Files (written by ``_nanoaod.py``, cached in the data directory): the same events as a NanoAOD-layout
TTree (``Jet_pt[nJet]/F`` leaf lists), as a TTree of ``ROOT::RVec<float>`` branches (what ``Snapshot``
writes for Define'd RVec columns) and as an RNTuple; a flat 20-float + int-label TTree
(``_common.generate_dataset``) and its RNTuple twin.

Rows, each one fresh Python process (``--repeat`` of them: best epoch, median memory):
``ROOT.ML.RDataLoader`` with ``read_threads=2`` and ``1``, ROOT 6.40's
``ROOT.Experimental.ML.RDataLoader``, an ``uproot.iterate`` loop (awkward pad/clip, NumPy shuffle
within each chunk), ``rootreadspeed --threads 2`` on the same branches (TTrees only: it cannot read
RNTuple), and on the NanoAOD TTree and RNTuple both loaders with three Defines and a Filter (ours also with
the dataframe built once per reading thread, so that the Defines are computed side by side). Every
row delivers shuffled NumPy batches of 1024: MET_pt, 6 jets x (pt, eta, phi, mass), 2 muons x (pt,
eta, phi) as float32 features (31), ``label`` as target; every batch is checked for all-zero rows and
repeated entries. Our loader runs its engine from an engine cache of this run's own, compiled before the
measurements (see ``throughput.py``).

    python benchmarks/realistic.py                           # 1M events, 2M flat, 3 processes per row
    python benchmarks/realistic.py --entries 20000 --quick   # smoke test, one process per row
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from _common import (
    LOADER_NAMES,
    RESULTS_DIR,
    find_rootreadspeed,
    fmt,
    make_loader,
    markdown_table,
    median,
    ours_unavailable_reason,
    rss_mb,
    run_epoch,
    run_process,
    run_worker,
    warm_page_cache,
    worker_main,
)
from _nanoaod import FILE_KEYS, JET_FIELDS, LABEL, MUON_FIELDS, describe, generate, tree_name

SCRIPT = Path(__file__).resolve()
BATCH_SIZE = 1024
SEED = 42
JETS = 6
MUONS = 2
#: Entries per ``uproot.iterate`` step, which is also the uproot loop's shuffle window.
STEP_ENTRIES = 100_000
DEFAULT_ENTRIES = 1_000_000
DEFAULT_FLAT_ENTRIES = 2_000_000
#: The "Defines" rows: what an analysis adds before training, and its event selection.
DEFINES = [("HT", "Sum(Jet_pt)"), ("nGoodJet", "Sum(Jet_pt > 30)"), ("GoodJet_pt", "Jet_pt[Jet_pt > 30]")]
FILTER = "nJet >= 1"
#: The same Defines and Filter as an uproot loop computes them, with awkward.
AWKWARD_DEFINES: dict[str, Callable[[Any, Any], Any]] = {
    "HT": lambda ak, a: ak.sum(a["Jet_pt"], axis=1),
    "nGoodJet": lambda ak, a: ak.sum(a["Jet_pt"] > 30, axis=1),
    "GoodJet_pt": lambda ak, a: a["Jet_pt"][a["Jet_pt"] > 30],
}
AWKWARD_FILTER = ("nJet", 1)  # nJet >= 1
#: Files on which the Defines rows run.
DEFINES_FILES = ("nano_ttree", "nano_rntuple")
ENGINE_CACHE = "RDATALOADER_ENGINE_CACHE"
FILE_TITLES = {
    "nano_ttree": "NanoAOD layout TTree (`Jet_pt[nJet]/F` leaf lists)",
    "nano_rvec": "TTree of `ROOT::RVec<float>` branches (Snapshot of Define'd RVecs)",
    "nano_rntuple": "RNTuple of the same events (Snapshot, kRNTuple)",
    "flat_ttree": "flat TTree, 20 floats + int label",
    "flat_rntuple": "flat RNTuple twin (Snapshot, kRNTuple)",
}

ROW_ROOT = LOADER_NAMES["root"]
ROW_UPROOT = f"uproot.iterate + awkward pad/clip + np shuffle ({STEP_ENTRIES // 1000}k chunks)"
ROW_RRS = "rootreadspeed --threads 2"
ROW_OURS = f"{LOADER_NAMES['ours']}, read_threads=2"
ROW_OURS_1 = f"{LOADER_NAMES['ours']}, read_threads=1"
ROW_OURS_DEF = f"{LOADER_NAMES['ours']} + 3 Defines + Filter"
ROW_OURS_DEF_BUILT = f"{ROW_OURS_DEF}, the dataframe built per reading thread"
ROW_ROOT_DEF = f"{LOADER_NAMES['root']} + 3 Defines + Filter"
ROW_UPROOT_DEF = "uproot loop + the same Defines and Filter in awkward"
DEFINES_ROWS = (ROW_OURS_DEF, ROW_OURS_DEF_BUILT, ROW_ROOT_DEF, ROW_UPROOT_DEF)


def layout(key: str, defines: bool = False) -> tuple[list[str], dict[str, int]]:
    """Feature columns of a file and the sizes of its vector columns (jets 6, muons 2)."""
    if key.startswith("flat"):
        return [f"f{i}" for i in range(20)], {}
    features = ["MET_pt", *JET_FIELDS, *MUON_FIELDS]
    sizes = {**{c: JETS for c in JET_FIELDS}, **{c: MUONS for c in MUON_FIELDS}}
    if defines:
        features += [name for name, _ in DEFINES]
        sizes["GoodJet_pt"] = JETS
    return features, sizes


def one_line(text: str, limit: int = 160) -> str:
    """A message squeezed onto one table cell: one line, no pipes."""
    return re.sub(r"\s+", " ", text).replace("|", "/").strip()[:limit]


# --------------------------------------------------------------------------------------------
# Child side. Constructing a source is the baseline (imports + opening the input); ``epoch()`` is a
# generator, so building the loader counts in the first epoch.
# --------------------------------------------------------------------------------------------


def open_dataframe(case: dict[str, Any]) -> Any:
    """The case's RDataFrame (TTree or RNTuple alike), with its Defines and Filter, columns read."""
    import ROOT

    df = ROOT.RDataFrame(case["tree"], case["file"])
    if case.get("defines"):
        for name, expression in DEFINES:
            df = df.Define(name, expression)
        df = df.Filter(FILTER)
    df.GetColumnNames()
    return df


class LoaderSource:
    """ROOT's ``RDataLoader`` or ours on one dataframe."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.case = case
        self.df = open_dataframe(case)
        self.loader: Any = None

    def build(self) -> Any:
        case = self.case
        options: dict[str, Any] = {"shuffle": True, "set_seed": SEED}
        if case["max_vec_sizes"]:
            options["max_vec_sizes"] = case["max_vec_sizes"]
        if "read_threads" in case:
            options["read_threads"] = case["read_threads"]
        frames = self.df
        if case.get("built_per_thread"):
            # The first build is the dataframe opened for the baseline; each further reading thread opens its own.
            opened = [self.df]
            frames = lambda: opened.pop() if opened else open_dataframe(case)  # noqa: E731
        return make_loader(case["loader"], frames, case["features"], BATCH_SIZE, **options)

    def epoch(self) -> Iterator[Any]:
        if self.loader is None:
            self.loader = self.build()
        yield from self.loader.as_numpy()

    def extra(self) -> dict[str, Any]:
        stats = getattr(self.loader, "stats", None)
        return {"stats": json.loads(json.dumps(stats(), default=str))} if stats else {}


class UprootSource:
    """``uproot.iterate`` in steps of ``STEP_ENTRIES``: vectors padded/clipped with awkward, one float32
    matrix per step, shuffled with NumPy, cut into batches (the remainder carried to the next step)."""

    def __init__(self, case: dict[str, Any]) -> None:
        import awkward as ak
        import numpy as np
        import uproot

        self.ak, self.np = ak, np
        self.features = case["features"]
        self.sizes = case["max_vec_sizes"]
        self.defines = case.get("defines", False)
        self.source = uproot.open(case["file"])[case["tree"]]
        self.rng = np.random.default_rng(SEED)

    def matrix(self, arrays: Any) -> Any:
        ak, np = self.ak, self.np
        blocks = []
        for name in self.features:
            column = arrays[name]
            if name in self.sizes:
                column = ak.fill_none(ak.pad_none(column, self.sizes[name], clip=True), 0.0)
                blocks.append(ak.to_numpy(column).astype(np.float32, copy=False))
            else:
                blocks.append(ak.to_numpy(column).astype(np.float32, copy=False)[:, None])
        return np.concatenate(blocks, axis=1)

    def epoch(self) -> Iterator[Any]:
        np = self.np
        carry_x = np.empty((0, 0), dtype=np.float32)  # the entries left over from the last step
        carry_y = np.empty(0, dtype=np.int32)
        stored = [name for name in self.features if name not in AWKWARD_DEFINES]
        counter, minimum = AWKWARD_FILTER
        branches = [LABEL, *stored, *([counter] if self.defines else [])]
        for arrays in self.source.iterate(branches, step_size=STEP_ENTRIES):
            if self.defines:
                arrays = arrays[arrays[counter] >= minimum]
                arrays = {LABEL: arrays[LABEL], **{name: arrays[name] for name in stored},
                          **{name: define(self.ak, arrays) for name, define in AWKWARD_DEFINES.items()}}
            order = self.rng.permutation(len(arrays[LABEL]))
            x = self.matrix(arrays)[order]
            y = self.ak.to_numpy(arrays[LABEL])[order]
            if len(carry_y):
                x, y = np.concatenate([carry_x, x]), np.concatenate([carry_y, y])
            full = len(y) - len(y) % BATCH_SIZE
            for start in range(0, full, BATCH_SIZE):
                yield x[start : start + BATCH_SIZE], y[start : start + BATCH_SIZE]
            carry_x, carry_y = x[full:], y[full:]


SOURCES: dict[str, Callable[[dict[str, Any]], Any]] = {"loader": LoaderSource, "uproot": UprootSource}


class BatchCheck:
    """Per-batch step checking what a loader delivers: rows that are all zero (no real entry here is: MET_pt
    and the flat features are continuous) and, after the epoch, the distinct values of the first feature
    (float32 collisions aside, one per entry). Its own time is measured, to be taken out of the epoch's."""

    def __init__(self) -> None:
        import numpy as np

        self.np = np
        self.first: list[Any] = []
        self.zero_rows = 0
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def __call__(self, x: Any, y: Any) -> None:
        start, cpu = time.perf_counter(), time.process_time()
        self.first.append(x[:, 0].copy())
        self.zero_rows += len(x) - int(self.np.count_nonzero(x.any(axis=1)))
        self.seconds += time.perf_counter() - start
        self.cpu_seconds += time.process_time() - cpu

    def finish(self) -> dict[str, Any]:
        """The epoch's findings; resets for the next epoch."""
        np = self.np
        values = np.concatenate(self.first) if self.first else np.empty(0, dtype=np.float32)
        found = {
            "zero_rows": self.zero_rows,
            "distinct_fraction": len(np.unique(values)) / len(values) if len(values) else None,
            "check_seconds": self.seconds,
            "check_cpu_seconds": self.cpu_seconds,
        }
        self.__init__()
        return found


def measure(case: dict[str, Any]) -> dict[str, Any]:
    """Child process: open the source, note the baseline RSS, run the epochs.

    Epoch times are the consumer's loop minus the time of the batch check (:class:`BatchCheck`).
    """
    if "engine_cache" in case:
        os.environ[ENGINE_CACHE] = case["engine_cache"]
    try:
        source = SOURCES[case["source"]](case)
    except ImportError as error:
        return {"error": f"not installed: {error}"}
    baseline = rss_mb()
    check = BatchCheck()
    epochs = []
    for _ in range(case["epochs"]):
        timing = asdict(run_epoch(source.epoch(), check))
        found = check.finish()
        timing["seconds"] -= found["check_seconds"]
        timing["cpu_seconds"] -= found["check_cpu_seconds"]
        epochs.append({**timing, **found})
    result = {
        "baseline_rss_mb": baseline,
        "first_batch_s": epochs[0]["first_batch_wallclock"] - case["t_spawn"] if epochs[0]["batches"] else None,
        "epochs": epochs,
    }
    if hasattr(source, "extra"):
        result.update(source.extra())
    return result


def warm_up(case: dict[str, Any]) -> dict[str, Any]:
    """Child process: build our loader for every configuration and take one batch of each.

    The first batch instantiates the engine for that set of column types, which starts its compilation
    into the engine cache in the background (a detached process); the parent then waits for those.
    """
    os.environ[ENGINE_CACHE] = case["engine_cache"]
    errors = {}
    for config in case["configs"]:
        try:
            source = LoaderSource({**config, "loader": "ours"})
            for _ in source.epoch():
                break
            source.loader.close()
        except Exception as error:  # noqa: BLE001  (a row of its own will report it)
            name = Path(config["file"]).name + (" with Defines" if config["defines"] else "")
            errors[name] = one_line(f"{type(error).__name__}: {error}")
    return {"errors": errors}


def child_main(case_json: str) -> None:
    """``worker_main`` with any exception turned into a one-line ``error`` (the row shows it)."""

    def guarded(handler: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def run(case: dict[str, Any]) -> dict[str, Any]:
            try:
                return handler(case)
            except Exception as error:  # noqa: BLE001
                traceback.print_exc()
                return {"error": one_line(f"{type(error).__name__}: {error}")}

        return run

    worker_main({"measure": guarded(measure), "warm_up": guarded(warm_up)}, case_json)


# --------------------------------------------------------------------------------------------
# Parent side
# --------------------------------------------------------------------------------------------


def readspeed(file: str, tree: str, branches: Sequence[str], threads: int = 2) -> dict[str, Any]:
    """``rootreadspeed`` on the given branches of ``tree``: real and CPU time, peak RSS.

    (``_common.rootreadspeed`` reads a TTree named ``tree`` only.)
    """
    exe = find_rootreadspeed()
    if exe is None:
        return {"error": "rootreadspeed not found (not on PATH, not in $ROOTSYS/bin)"}
    argv = [exe, "--files", file, "--trees", tree, "--branches", *branches, "--threads", str(threads)]
    run = run_process(argv, timeout=1800)
    real = re.search(r"^Real time:\s+([0-9.eE+-]+) s", run.stdout, re.MULTILINE)
    cpu = re.search(r"^CPU time:\s+([0-9.eE+-]+) s", run.stdout, re.MULTILINE)
    if run.returncode != 0 or real is None:
        lines = [line for line in (run.stderr + run.stdout).splitlines() if line.strip()]
        message = lines[-1] if lines else f"exit code {run.returncode}"
        return {"error": one_line(message), "peak_rss_mb": run.peak_rss_mb}
    return {
        "seconds": float(real.group(1)),
        "cpu_seconds": float(cpu.group(1)) if cpu else None,
        "peak_rss_mb": run.peak_rss_mb,
        "process_seconds": run.wall_seconds,
    }


class Runner:
    """Runs each row ``repeat`` times, in fresh processes; keeps the best epochs and the median memory."""

    def __init__(self, repeat: int, ours_reason: str | None, engine_cache: str, timeout: float) -> None:
        self.repeat = repeat
        self.ours_reason = ours_reason
        self.engine_cache = engine_cache
        self.timeout = timeout
        self.raw: list[dict[str, Any]] = []

    def source(self, label: str, **case: Any) -> dict[str, Any]:
        if case.get("loader") == "ours" and self.ours_reason:
            return {"error": f"unavailable: {self.ours_reason}"}
        case = {"kind": "measure", "epochs": 2, "engine_cache": self.engine_cache, **case}
        runs = []
        for _ in range(self.repeat):
            try:
                runs.append(run_worker(SCRIPT, case, timeout=self.timeout))
            except Exception as error:  # noqa: BLE001  (a row never stops the run)
                runs.append({"error": one_line(f"{type(error).__name__}: {error}")})
        self.raw.append({"name": label, "case": case, "runs": runs})
        return summarize(label, runs)

    def readspeed(self, label: str, file: str, tree: str, branches: Sequence[str]) -> dict[str, Any]:
        runs = []
        for _ in range(self.repeat):
            try:
                runs.append(readspeed(file, tree, branches))
            except Exception as error:  # noqa: BLE001
                runs.append({"error": one_line(f"{type(error).__name__}: {error}")})
        self.raw.append({"name": label, "file": file, "branches": list(branches), "runs": runs})
        good = [r for r in runs if "error" not in r]
        if not good:
            print(f"  {label}: error: {runs[-1]['error']}", file=sys.stderr)
            return {"error": runs[-1]["error"]}
        seconds = min(r["seconds"] for r in good)
        print(f"  {label}: {seconds:.2f} s", file=sys.stderr)
        return {
            "seconds": seconds,
            "cpu_seconds": min(r["cpu_seconds"] for r in good if r["cpu_seconds"] is not None),
            "peak_rss_mb": median([r["peak_rss_mb"] for r in good]),
        }


def summarize(label: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Best epoch 1 and epoch 2 over the repeats, fastest first batch, median memory."""
    good = [r for r in runs if "error" not in r and r.get("epochs")]
    if not good:
        error = runs[-1].get("error", "no epochs") if runs else "not run"
        print(f"  {label}: error: {error}", file=sys.stderr)
        return {"error": one_line(str(error))}
    best = min(good, key=lambda r: r["epochs"][-1]["seconds"])
    first_batches = [r["first_batch_s"] for r in good if r["first_batch_s"] is not None]
    summary = {
        "seconds": best["epochs"][-1]["seconds"],
        "epoch1_seconds": min(r["epochs"][0]["seconds"] for r in good),
        "cpu_seconds": min(r["epochs"][-1]["cpu_seconds"] for r in good),
        "entries": [e["entries"] for e in best["epochs"]],
        "zero_rows": [max(r["epochs"][i]["zero_rows"] for r in good) for i in range(len(best["epochs"]))],
        "distinct_fraction": [min(r["epochs"][i]["distinct_fraction"] or 0.0 for r in good)
                              for i in range(len(best["epochs"]))],
        "first_batch_s": min(first_batches) if first_batches else None,
        "peak_rss_mb": median([r["peak_rss_mb"] for r in good]),
        "above_baseline_mb": median([r["peak_rss_mb"] - r["baseline_rss_mb"] for r in good]),
        "stats": best.get("stats"),
        "failed_repeats": len(runs) - len(good),
    }
    print(f"  {label}: epoch 2 {summary['seconds']:.2f} s, {summary['entries'][-1]} entries", file=sys.stderr)
    return summary


def wait_for_engines(runner: Runner, configs: list[dict[str, Any]]) -> float | None:
    """Fill this run's engine cache: one process builds our loader for every configuration, then the
    background compilations it started are waited for. Returns the seconds it all took."""
    if runner.ours_reason or not configs:
        return None
    cache = Path(runner.engine_cache)
    started = time.monotonic()
    result = run_worker(SCRIPT, {"kind": "warm_up", "engine_cache": runner.engine_cache, "configs": configs},
                        timeout=runner.timeout)
    for file, error in ({"warm-up": result["error"]} if "error" in result else result.get("errors", {})).items():
        print(f"  engine warm-up, {file}: {error}", file=sys.stderr)
    while any(cache.glob("*.building")) and time.monotonic() - started < 1200:
        time.sleep(0.5)
    libraries = len(list(cache.glob("*.so")))
    seconds = time.monotonic() - started
    print(f"  engines compiled: {libraries} libraries, {seconds:.0f} s", file=sys.stderr)
    return seconds


def file_case(key: str, file: str, defines: bool = False) -> dict[str, Any]:
    features, sizes = layout(key, defines)
    return {"file": file, "tree": tree_name(key), "features": features, "max_vec_sizes": sizes, "defines": defines}


def rrs_branches(key: str) -> list[str]:
    """The branches every loader reads: the features and the label, plus, for leaf lists, their counters."""
    features, _ = layout(key)
    branches = [*features, LABEL]
    if key == "nano_ttree":  # Jet_pt[nJet] is read through nJet (RDataFrame's TTreeReaderArray reads it too)
        branches += ["nJet", "nMuon"]
    return branches


def plan_rows(runner: Runner, key: str, file: str, info: dict[str, Any]) -> list[tuple[str, Callable[[], dict]]]:
    """Every row of one file, in table order: (row name, its measurement)."""
    base = file_case(key, file)
    with_defines = file_case(key, file, defines=True)

    def loader(label: str, kind: str, case: dict[str, Any], **options: Any) -> Callable[[], dict]:
        return lambda: runner.source(f"{key}: {label}", source="loader", loader=kind, **case, **options)

    if info["format"] == "TTree":
        branches = rrs_branches(key)
        rows = [(ROW_RRS, lambda: runner.readspeed(f"{key}: rootreadspeed", file, tree_name(key), branches))]
    else:
        rows = [(ROW_RRS, lambda: {"na": "n/a: rootreadspeed reads TTrees only"})]
    rows += [
        (ROW_ROOT, loader("root", "root", base)),
        (ROW_UPROOT, lambda: runner.source(f"{key}: uproot", source="uproot", **base)),
        (ROW_OURS, loader("ours 2 threads", "ours", base, read_threads=2)),
        (ROW_OURS_1, loader("ours 1 thread", "ours", base, read_threads=1)),
    ]
    if key in DEFINES_FILES:
        rows += [
            (ROW_OURS_DEF, loader("ours defines", "ours", with_defines, read_threads=2)),
            (ROW_OURS_DEF_BUILT, loader("ours defines, built per thread", "ours", with_defines, read_threads=2,
                                        built_per_thread=True)),
            (ROW_ROOT_DEF, loader("root defines", "root", with_defines)),
            (ROW_UPROOT_DEF, lambda: runner.source(f"{key}: uproot defines", source="uproot", **with_defines)),
        ]
    return rows


def measure_all(
    runner: Runner, files: dict[str, str], infos: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, dict[str, Any]]], float | None]:
    """Fill the engine cache, then measure the rows of each file in table order; returns
    ``{file: {row: result}}`` and the seconds the engines took to compile."""
    print("compiling our engines", file=sys.stderr)
    configs = [file_case(key, file) for key, file in files.items()]
    configs += [file_case(key, file, defines=True) for key, file in files.items() if key in DEFINES_FILES]
    compile_seconds = wait_for_engines(runner, configs)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for key, file in files.items():
        print(f"{key}: {file}", file=sys.stderr)
        results[key] = {row: measurement() for row, measurement in plan_rows(runner, key, file, infos[key])}
    return results, compile_seconds


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def time_ratio(result: dict[str, Any], reference: dict[str, Any] | None) -> str:
    """Epoch-2 time of ``result`` over ``reference``'s, as ``0.42x`` (below 1: faster)."""
    if not reference or "seconds" not in result or "seconds" not in reference:
        return "–"
    return f"{result['seconds'] / reference['seconds']:.2f}x"


def fastest(*results: dict[str, Any]) -> dict[str, Any] | None:
    """The fastest of the results that delivered valid batches (None if none did)."""
    timed = [r for r in results if "seconds" in r and not batch_problems(r)]
    return min(timed, key=lambda r: r["seconds"]) if timed else None


#: Below this share of distinct first-feature values an epoch repeated entries (a correct one: about 98%).
MIN_DISTINCT = 0.9


def batch_problems(result: dict[str, Any]) -> str:
    """What :class:`BatchCheck` found wrong with the batches of a row ("" if nothing)."""
    problems = []
    for i, (entries, zero, distinct) in enumerate(
        zip(result.get("entries", []), result.get("zero_rows", []), result.get("distinct_fraction", []))
    ):
        if zero:
            problems.append(f"epoch {i + 1}: {100 * zero / entries:.0f}% of rows all zero")
        elif entries and distinct < MIN_DISTINCT:
            problems.append(f"epoch {i + 1}: {100 * distinct:.0f}% distinct first feature")
    return "; ".join(problems)


def expected_entries(key: str, row: str, info: dict[str, Any]) -> int:
    """Entries an epoch should deliver: every (passing) entry, the last incomplete batch dropped."""
    total = info["passing"] if row in DEFINES_ROWS else info["entries"]
    return total - total % BATCH_SIZE


def read_path(result: dict[str, Any]) -> str:
    """Our loader's reading paths in epoch 2, from ``stats()["read_paths"]``: the source (``TTree baskets``,
    ``RNTuple pages``) or ``event loop``, each with the number of columns it read when they differ."""
    paths = (result.get("stats") or {}).get("read_paths")
    if not paths:
        return ""
    kinds = [str(path).split(" (")[0] for path in paths.values()]
    counts = {kind: kinds.count(kind) for kind in dict.fromkeys(kinds)}
    return kinds[0] if len(counts) == 1 else ", ".join(f"{kind} ({n})" for kind, n in counts.items())


def file_table(key: str, results: dict[str, dict[str, Any]], info: dict[str, Any]) -> str:
    plain_reference = fastest(results[ROW_ROOT], results[ROW_UPROOT])
    rrs = results[ROW_RRS]
    rows = []
    for row, r in results.items():
        if "na" in r:
            rows.append([row, r["na"], *[""] * 10])
            continue
        if "error" in r:
            rows.append([row, f"error: {r['error']}", *[""] * 10])
            continue
        if row == ROW_RRS:
            seconds, cpu, peak = fmt(r["seconds"]), fmt(r.get("cpu_seconds")), fmt(r["peak_rss_mb"], 0)
            rows.append([row, "", "", seconds, "", "1.00x", cpu, "", "", peak, "", ""])
            continue
        reference = fastest(results[ROW_ROOT_DEF], results[ROW_UPROOT_DEF]) if row in DEFINES_ROWS else plain_reference
        expected = expected_entries(key, row, info)
        entries = " / ".join(str(n) for n in r["entries"])
        if any(n != expected for n in r["entries"]):
            entries += f" (expected {expected})"
        rows.append(
            [
                row,
                entries,
                fmt(r["epoch1_seconds"]),
                fmt(r["seconds"]),
                time_ratio(r, reference),
                time_ratio(r, rrs),
                fmt(r["cpu_seconds"]),
                fmt(r["first_batch_s"]),
                fmt(r["above_baseline_mb"], 0),
                fmt(r["peak_rss_mb"], 0),
                read_path(r),
                f"**{batch_problems(r)}**" if batch_problems(r) else "ok",
            ]
        )
    headers = [
        "reader",
        "entries, epoch 1 / 2",
        "epoch 1 (s)",
        "epoch 2 (s)",
        "÷ faster of ROOT loader, uproot",
        "÷ rootreadspeed -t2",
        "CPU epoch 2 (s)",
        "first batch after start (s)",
        "RSS above baseline (MiB)",
        "peak RSS (MiB)",
        "read path",
        "batches",
    ]
    return markdown_table(headers, rows)


def summary_line(results: dict[str, dict[str, Any]]) -> str:
    def ratio(row: str, reference: str) -> str:
        cell = time_ratio(results[row], results[reference])
        invalid = [name for name in (row, reference) if batch_problems(results[name])]
        return cell + (f" (invalid batches in: {', '.join(invalid)})" if invalid and cell != "–" else "")

    parts = [f"`read_threads=2 ÷ read_threads=1`: {ratio(ROW_OURS, ROW_OURS_1)}"]
    if ROW_OURS_DEF in results:
        parts.append(f"Defines ÷ no Defines: ours {ratio(ROW_OURS_DEF, ROW_OURS)}, "
                     f"ours built per reading thread {ratio(ROW_OURS_DEF_BUILT, ROW_OURS)}, "
                     f"ROOT's loader {ratio(ROW_ROOT_DEF, ROW_ROOT)}, uproot {ratio(ROW_UPROOT_DEF, ROW_UPROOT)}")
    return "Summary (epoch 2): " + "; ".join(parts) + "."


def file_heading(key: str, file: str, info: dict[str, Any]) -> str:
    types = info["column_types"]
    vector_type = types.get("Jet_pt") or types.get("f0")
    return (
        f"### {FILE_TITLES[key]}: `{Path(file).name}`\n\n"
        f"{info['format']} `{tree_name(key)}`, {info['entries']} entries, {info['bytes'] / 2**20:.1f} MiB, "
        f"compression {info['compression']}; `{'Jet_pt' if 'Jet_pt' in types else 'f0'}` is `{vector_type}`, "
        f"`label` is `{types.get(LABEL)}`"
        + (f"; `{FILTER}` keeps {info['passing']}" if info["passing"] != info["entries"] else "")
        + ".\n"
    )


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=DEFAULT_ENTRIES, help="events of the NanoAOD-like files")
    parser.add_argument(
        "--flat-entries",
        type=int,
        help=f"entries of the flat files (default {DEFAULT_FLAT_ENTRIES}; --entries with --quick)",
    )
    parser.add_argument("--data-dir", type=Path, default=RESULTS_DIR / "data", help="where generated files go")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per row")
    parser.add_argument("--quick", action="store_true", help="one process per row")
    parser.add_argument("--files", nargs="+", choices=FILE_KEYS, default=FILE_KEYS, help="measure only these files")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before a row's process is killed")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "realistic.json", help="raw results")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.worker:
        child_main(args.worker)
        return
    engines = tempfile.mkdtemp(prefix="rdataloader-bench-engines-")
    try:
        run(args, engines)
    finally:
        shutil.rmtree(engines, ignore_errors=True)


def run(args: argparse.Namespace, engines: str) -> None:
    """The whole benchmark; ``engines`` is this run's engine cache."""
    repeat = 1 if args.quick else args.repeat
    flat_entries = args.flat_entries or (args.entries if args.quick else DEFAULT_FLAT_ENTRIES)
    wanted_flat = any(key.startswith("flat") for key in args.files)
    started = time.monotonic()
    print("writing or reusing the data files", file=sys.stderr)
    all_files = generate(args.data_dir, args.entries, flat_entries if wanted_flat else None)
    files = {key: str(path) for key, path in all_files.items() if key in args.files}
    infos = describe({key: Path(path) for key, path in files.items()}, FILTER)
    warm_page_cache(list(files.values()))
    ours_reason = ours_unavailable_reason()
    if ours_reason:
        print(f"rdataloader is unavailable: {ours_reason}", file=sys.stderr)
    runner = Runner(repeat, ours_reason, engines, args.timeout)

    load = os.getloadavg()[0]
    results, compile_seconds = measure_all(runner, files, infos)
    engine_note = (
        f"Rows of rdataloader run engines compiled into this run's engine cache before the measurements "
        f"({fmt(compile_seconds)} s from the start of the process that compiled them)."
    )

    report = [
        f"Shuffled NumPy batches of {BATCH_SIZE}; target `label`; NanoAOD files: MET_pt + {JETS} jets x 4 + "
        f"{MUONS} muons x 3 = 31 float32 features (`max_vec_sizes`, zero padding); flat files: 20 features. "
        f"{repeat} fresh process(es) per row: best epoch times, fastest first batch, median memory. Epoch 2 "
        f"of 2 is the steady state. Load average at start {load:.1f}. {engine_note} "
        f"Defines rows: {', '.join(f'`{n} = {e}`' for n, e in DEFINES)}, `Filter(\"{FILTER}\")`, "
        f"GoodJet_pt as {JETS} padded values; their ÷ column compares with ROOT's loader with the same "
        f"Defines; entries the filter keeps: see each file's heading. *batches*: every batch is checked (its "
        f"time taken out of the epoch's): rows all zero, or under {100 * MIN_DISTINCT:.0f}% distinct values of the "
        f"first feature, are reported there, and such a row is no reference for the ÷ columns. rootreadspeed "
        f"reads the same branches (with `nJet`/`nMuon` for leaf lists).\n"
    ]
    for key, file in files.items():
        report += [file_heading(key, file, infos[key]), file_table(key, results[key], infos[key]), "",
                   summary_line(results[key]), ""]
    print("\n".join(report))
    print(f"total {time.monotonic() - started:.0f} s", file=sys.stderr)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "settings": {"batch_size": BATCH_SIZE, "repeat": repeat, "entries": args.entries,
                             "flat_entries": flat_entries, "defines": DEFINES, "filter": FILTER,
                             "load_average": load, "engine_compile_seconds": compile_seconds},
                "files": {key: {"path": files[key], **infos[key]} for key in files},
                "summary": results,
                "raw": runner.raw,
            },
            indent=1,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
