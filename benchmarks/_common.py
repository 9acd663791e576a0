"""Helpers shared by the benchmark scripts.

* data generation: NumPy columns written as a TTree with RDataFrame ``Snapshot`` (zlib or LZ4);
* measurements in fresh processes: each measurement is the script itself re-run with
  ``--worker '<json>'``; the child prints one JSON line with its own peak RSS (``VmHWM``);
  external programs (``rootreadspeed``) get theirs from ``os.wait4``. The parent never imports
  ROOT (data generation also runs in a child): Linux counts the parent's RSS at ``fork`` in the
  child's ``ru_maxrss``, so a heavy parent would inflate every child's peak;
* the loaders under test, one epoch loop with a clock on the consumer side, a small MLP step;
* markdown tables.

Everything here is Linux-only (``/proc/self/status``, ``os.wait4``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import numpy as np

TREE = "tree"
LABEL = "label"
BENCHMARKS_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCHMARKS_DIR / "results"
RESULT_MARKER = "BENCHMARK-RESULT "

#: Compression of the generated files: (ROOT algorithm name, level). "zlib" is what
#: ``Snapshot`` writes by default (compression setting 101); "lz4" is ROOT's recommended 404.
COMPRESSIONS = {"zlib": ("kZLIB", 1), "lz4": ("kLZ4", 4)}

#: Loaders under test: kind -> name used in tables.
LOADER_NAMES = {"root": "ROOT 6.40 loader", "ours": "rdataloader"}


# --------------------------------------------------------------------------------------------
# Data generation
# --------------------------------------------------------------------------------------------


def feature_names(n_features: int) -> list[str]:
    """Names of the float feature columns: ``f0 ... f{n-1}``."""
    return [f"f{i}" for i in range(n_features)]


def write_tree(path: Path, columns: Mapping[str, np.ndarray], compression: str = "zlib") -> Path:
    """Write NumPy columns as TTree ``tree`` into ``path`` with RDataFrame ``Snapshot``.

    The file is written under a temporary name and renamed, so an interrupted run never leaves
    a truncated file that a later run would take for a cached one.
    """
    import ROOT

    algorithm, level = COMPRESSIONS[compression]
    options = ROOT.RDF.RSnapshotOptions()
    options.fCompressionAlgorithm = getattr(ROOT.RCompressionSetting.EAlgorithm, algorithm)
    options.fCompressionLevel = level
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    df = ROOT.RDF.FromNumpy(dict(columns))
    df.Snapshot(TREE, str(partial), list(columns), options)
    os.replace(partial, path)
    return path


def generate_dataset(path: Path, entries: int, n_features: int = 20, compression: str = "zlib", seed: int = 1) -> Path:
    """Write (or reuse) a flat dataset in a child process, see :func:`_write_flat_dataset`."""
    if not path.exists():
        in_fresh_process(
            "write_flat_dataset",
            path=str(path),
            entries=entries,
            n_features=n_features,
            compression=compression,
            seed=seed,
        )
    return path


def _write_flat_dataset(case: dict[str, Any]) -> dict[str, Any]:
    """Child side of :func:`generate_dataset`: an ``int`` label and float features.

    The label is 0 or 1 with probability 1/2. Even-numbered features are N(0.5 * label, 1), so
    there is something to learn; odd-numbered ones are N(0, 1) noise (``f1 > 0`` keeps half of
    the entries, independently of the label).
    """
    import numpy as np

    entries = case["entries"]
    rng = np.random.default_rng(case["seed"])
    label = (rng.random(entries) < 0.5).astype(np.int32)
    columns: dict[str, np.ndarray] = {LABEL: label}
    for i, name in enumerate(feature_names(case["n_features"])):
        values = rng.standard_normal(entries, dtype=np.float32)
        if i % 2 == 0:
            values += np.float32(0.5) * label
        columns[name] = values
    write_tree(Path(case["path"]), columns, case["compression"])
    return {}


def describe_tree(file: str) -> tuple[int, list[str]]:
    """Entries and column names of the TTree ``tree`` in ``file`` (read in a child process)."""
    result = in_fresh_process("describe_tree", file=file)
    return result["entries"], result["columns"]


def _describe_tree(case: dict[str, Any]) -> dict[str, Any]:
    import ROOT

    df = ROOT.RDataFrame(TREE, case["file"])
    return {"entries": int(df.Count().GetValue()), "columns": [str(c) for c in df.GetColumnNames()]}


def dataset_path(data_dir: Path, entries: int, n_features: int, compression: str) -> Path:
    """Cache path of the dataset with these parameters."""
    return data_dir / f"flat_{entries}_{n_features}f_{compression}.root"


def compressed_bytes(files: Sequence[str]) -> int:
    """Total size of the files on disk."""
    return sum(os.path.getsize(f) for f in files)


def warm_page_cache(files: Sequence[str]) -> None:
    """Read the files once so every measurement starts from the same (warm) page cache."""
    for name in files:
        with open(name, "rb") as stream:
            while stream.read(1 << 24):
                pass


# --------------------------------------------------------------------------------------------
# Fresh-process measurements
# --------------------------------------------------------------------------------------------


@dataclass
class ProcessRun:
    """One child process: its exit code, output, peak RSS and wall time."""

    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    wall_seconds: float
    timed_out: bool = False

    def error_summary(self) -> str:
        """The last meaningful line of stderr, for a table cell."""
        if self.timed_out:
            return "timed out"
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        lines = [line for line in lines if "alpha stage" not in line and "warnings.warn" not in line]
        return lines[-1][:160] if lines else f"exit code {self.returncode}"


def run_process(argv: Sequence[str], timeout: float = 1800.0) -> ProcessRun:
    """Run ``argv`` to completion and measure its peak RSS with ``os.wait4``.

    ``os.wait4`` returns the resource usage of exactly this child (``RUSAGE_CHILDREN`` would give
    the maximum over every child so far). Output goes through temporary files so that nothing
    reaps the child before ``wait4`` does.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, text=True)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ProcessRun(
            returncode=proc.returncode,
            stdout=out.read(),
            stderr=err.read(),
            peak_rss_mb=usage.ru_maxrss / 1024.0,  # kilobytes on Linux
            wall_seconds=wall,
            timed_out=proc.returncode < 0 and wall >= timeout,
        )


def run_worker(script: Path, case: Mapping[str, Any], timeout: float = 1800.0) -> dict[str, Any]:
    """Run one measurement of ``script`` in a fresh Python process and return its JSON result.

    The case gets ``t_spawn``, the wall-clock time just before the child is started, so the
    child can report latencies counted from its own start (interpreter and imports included).
    The result has ``peak_rss_mb`` (the child's ``VmHWM``), ``wait4_peak_rss_mb`` (the same
    seen by the parent, as a cross-check) and, when the child failed, ``error``.
    """
    case = dict(case, t_spawn=time.time())
    run = run_process([sys.executable, str(script), "--worker", json.dumps(case)], timeout)
    for line in reversed(run.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            result = json.loads(line[len(RESULT_MARKER) :])
            break
    else:
        result = {"error": run.error_summary()}
    result.setdefault("peak_rss_mb", run.peak_rss_mb)
    result["wait4_peak_rss_mb"] = run.peak_rss_mb
    result["process_seconds"] = run.wall_seconds
    return result


def worker_main(handlers: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]], case_json: str) -> None:
    """Child side of :func:`run_worker`: run ``handlers[case["kind"]]`` and print its result."""
    case = json.loads(case_json)
    result = handlers[case["kind"]](case)
    result["peak_rss_mb"] = _proc_status_mb("VmHWM")
    sys.stdout.flush()
    print(RESULT_MARKER + json.dumps(result), flush=True)


def _proc_status_mb(key: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no {key} in /proc/self/status")


def rss_mb() -> float:
    """Current resident set size of this process, in MiB."""
    return _proc_status_mb("VmRSS")


def in_fresh_process(kind: str, **case: Any) -> dict[str, Any]:
    """Run one of this module's own helpers (see ``_HELPERS``) in a child process.

    Keeps ROOT out of the parent, see the module docstring. Raises if the helper failed.
    """
    result = run_worker(Path(__file__), {"kind": kind, **case})
    if "error" in result:
        raise RuntimeError(f"{kind} failed: {result['error']}")
    return result


# --------------------------------------------------------------------------------------------
# rootreadspeed
# --------------------------------------------------------------------------------------------


def find_rootreadspeed() -> str | None:
    """Path of ROOT's ``rootreadspeed``: on PATH, under $ROOTSYS, or next to the ROOT wheel."""
    found = shutil.which("rootreadspeed")
    if found:
        return found
    candidates = []
    if os.environ.get("ROOTSYS"):
        candidates.append(Path(os.environ["ROOTSYS"]) / "bin" / "rootreadspeed")
    spec = importlib.util.find_spec("ROOT")
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent / "bin" / "rootreadspeed")
    return next((str(c) for c in candidates if c.is_file()), None)


def rootreadspeed(files: Sequence[str], threads: int, branches: Sequence[str] | None = None) -> dict[str, Any]:
    """Run ``rootreadspeed`` on ``files`` and return its real time, bytes read and peak RSS."""
    exe = find_rootreadspeed()
    if exe is None:
        return {"error": "rootreadspeed not found (not on PATH, not in $ROOTSYS/bin)"}
    selection = ["--branches", *branches] if branches else ["--all-branches"]
    argv = [exe, "--files", *files, "--trees", TREE, *selection, "--threads", str(threads)]
    run = run_process(argv)
    real = re.search(r"^Real time:\s+([0-9.eE+-]+) s", run.stdout, re.MULTILINE)
    cpu = re.search(r"^CPU time:\s+([0-9.eE+-]+) s", run.stdout, re.MULTILINE)
    if run.returncode != 0 or real is None:
        return {"error": run.error_summary(), "peak_rss_mb": run.peak_rss_mb}
    unzipped = re.search(r"^Uncompressed data read:\s+(\d+)", run.stdout, re.MULTILINE)
    zipped = re.search(r"^Compressed data read:\s+(\d+)", run.stdout, re.MULTILINE)
    return {
        "seconds": float(real.group(1)),
        "cpu_seconds": float(cpu.group(1)) if cpu else None,
        "uncompressed_bytes": int(unzipped.group(1)) if unzipped else None,
        "compressed_bytes": int(zipped.group(1)) if zipped else None,
        "peak_rss_mb": run.peak_rss_mb,
        "process_seconds": run.wall_seconds,
    }


# --------------------------------------------------------------------------------------------
# Loaders and the consumer loop
# --------------------------------------------------------------------------------------------


def ours_unavailable_reason() -> str | None:
    """None if ``ROOT.ML.RDataLoader`` from this project can be used, else why not.

    Checked in a fresh interpreter, so that a half-installed package cannot disturb the caller.
    """
    result = run_worker(Path(__file__), {"kind": "probe_ours"}, timeout=300)
    return result.get("error")


def _probe_ours(case: dict[str, Any]) -> dict[str, Any]:
    cls = loader_class("ours")
    if not cls.__module__.startswith("rdataloader"):
        raise RuntimeError(f"ROOT.ML.RDataLoader comes from {cls.__module__}, not rdataloader")
    return {}


def loader_class(kind: str) -> Any:
    """The loader class of ``kind`` ("root": ROOT's own, "ours": this project's)."""
    import ROOT

    if kind == "root":
        return ROOT.Experimental.ML.RDataLoader
    if kind == "ours":
        import rdataloader  # noqa: F401  (registers ROOT.ML.RDataLoader)

        return ROOT.ML.RDataLoader
    raise ValueError(f"unknown loader kind {kind!r}; expected one of {sorted(LOADER_NAMES)}")


def make_loader(
    kind: str,
    dataframes: Any,
    features: Sequence[str],
    batch_size: int,
    batches_in_memory: int | None = None,
    **options: Any,
) -> Any:
    """A loader of ``kind`` delivering ``(features, label)`` batches, remainder dropped.

    ``batches_in_memory=None`` keeps the loader's own default; ``options`` go through as they are
    (``shuffle``, ``set_seed``, ``load_eager``).
    """
    if batches_in_memory is not None:
        options["batches_in_memory"] = batches_in_memory
    return loader_class(kind)(
        dataframes,
        batch_size=batch_size,
        columns=[LABEL, *features],
        target=LABEL,
        drop_remainder=True,
        **options,
    )


@dataclass
class EpochTiming:
    """What one pass over the batches cost, as seen by the consumer."""

    seconds: float
    cpu_seconds: float  # all threads of the process: unlike wall time, barely moved by other processes
    entries: int
    batches: int
    seconds_waiting: float
    first_batch_wallclock: float | None = None


def run_epoch(batches: Iterable[Any], step: Callable[[Any, Any], None] | None = None) -> EpochTiming:
    """Iterate over one epoch of ``(x, y)`` batches, timing the waits for each next batch.

    ``step(x, y)``, if given, is the work done per batch (a training step, or recording what
    came); its time counts in ``seconds`` but not in ``seconds_waiting``.
    """
    start = time.perf_counter()
    cpu_start = time.process_time()
    iterator = iter(batches)
    waiting = 0.0
    entries = 0
    count = 0
    first_batch_wallclock = None
    while True:
        before = time.perf_counter()
        try:
            x, y = next(iterator)
        except StopIteration:
            waiting += time.perf_counter() - before
            break
        waiting += time.perf_counter() - before
        if first_batch_wallclock is None:
            first_batch_wallclock = time.time()
        entries += len(x)
        count += 1
        if step is not None:
            step(x, y)
    return EpochTiming(
        seconds=time.perf_counter() - start,
        cpu_seconds=time.process_time() - cpu_start,
        entries=entries,
        batches=count,
        seconds_waiting=waiting,
        first_batch_wallclock=first_batch_wallclock,
    )


class MLPStep:
    """A small PyTorch MLP trained with one Adam step per batch (binary cross-entropy).

    Runs on one CPU thread, so that the loader's background thread keeps the other core.
    """

    def __init__(self, n_features: int, hidden: int = 64, seed: int = 0, lr: float = 1e-3) -> None:
        import torch

        torch.set_num_threads(1)
        torch.manual_seed(seed)
        self._torch = torch
        self.model = torch.nn.Sequential(
            torch.nn.Linear(n_features, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, 1),
        )
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.loss = torch.nn.BCEWithLogitsLoss()

    def __call__(self, x: np.ndarray, y: np.ndarray) -> None:
        torch = self._torch
        features = torch.from_numpy(x)
        target = torch.from_numpy(y.reshape(-1, 1).astype("float32", copy=False))
        self.optimizer.zero_grad()
        self.loss(self.model(features), target).backward()
        self.optimizer.step()

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Accuracy and log-loss (mean binary cross-entropy) on a held-out set."""
        torch = self._torch
        with torch.no_grad():
            logits = self.model(torch.from_numpy(x)).reshape(-1)
            target = torch.from_numpy(y.astype("float32"))
            log_loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
            accuracy = ((logits > 0).float() == target).float().mean()
        return {"accuracy": float(accuracy), "log_loss": float(log_loss)}


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 2) -> str:
    """A table cell: numbers with ``digits`` decimals, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:.{digits}f}"
    return str(value)


def save_figure(fig: Any, path: Path) -> None:
    """Lay out ``fig`` and write it to ``path``, creating its folder."""
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}", file=sys.stderr)


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub markdown table; cells are formatted with :func:`fmt` unless already strings."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(cell if isinstance(cell, str) else fmt(cell) for cell in row) + " |")
    return "\n".join(lines)


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else 0.5 * (ordered[middle - 1] + ordered[middle])


_HELPERS = {
    "write_flat_dataset": _write_flat_dataset,
    "describe_tree": _describe_tree,
    "probe_ours": _probe_ours,
}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--worker":
        sys.exit("usage: python _common.py --worker '<json>' (run by in_fresh_process)")
    worker_main(_HELPERS, sys.argv[2])
