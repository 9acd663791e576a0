"""Helpers shared by the benchmark scripts.

* data generation: NumPy columns written as a TTree with RDataFrame ``Snapshot`` (zlib or LZ4);
* measurements in fresh processes: each measurement is the script itself re-run with
  ``--worker '<json>'``; the child prints one JSON line, the parent adds the child's peak RSS
  (from ``os.wait4``) and how long the child took;
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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

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


def generate_dataset(
    path: Path, entries: int, n_features: int = 20, compression: str = "zlib", seed: int = 1
) -> Path:
    """Write (or reuse) a flat dataset: an ``int`` label and ``n_features`` float features.

    The label is 0 or 1 with probability 1/2. Even-numbered features are N(0.5 * label, 1), so
    there is something to learn; odd-numbered ones are N(0, 1) noise (``f1 > 0`` keeps half of
    the entries, independently of the label). The file is reused if it already exists.
    """
    if path.exists():
        return path
    import numpy as np

    rng = np.random.default_rng(seed)
    label = (rng.random(entries) < 0.5).astype(np.int32)
    columns: dict[str, np.ndarray] = {LABEL: label}
    for i, name in enumerate(feature_names(n_features)):
        values = rng.standard_normal(entries, dtype=np.float32)
        if i % 2 == 0:
            values += np.float32(0.5) * label
        columns[name] = values
    return write_tree(path, columns, compression)


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
    The result gets ``peak_rss_mb`` and, when the child failed, ``error``.
    """
    case = dict(case, t_spawn=time.time())
    run = run_process([sys.executable, str(script), "--worker", json.dumps(case)], timeout)
    for line in reversed(run.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            result = json.loads(line[len(RESULT_MARKER) :])
            break
    else:
        result = {"error": run.error_summary()}
    result["peak_rss_mb"] = run.peak_rss_mb
    result["process_seconds"] = run.wall_seconds
    return result


def worker_main(handlers: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]], case_json: str) -> None:
    """Child side of :func:`run_worker`: run ``handlers[case["kind"]]`` and print its result."""
    case = json.loads(case_json)
    result = handlers[case["kind"]](case)
    sys.stdout.flush()
    print(RESULT_MARKER + json.dumps(result), flush=True)


def rss_mb() -> float:
    """Current resident set size of this process, in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/self/status")


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
    if run.returncode != 0 or real is None:
        return {"error": run.error_summary(), "peak_rss_mb": run.peak_rss_mb}
    unzipped = re.search(r"^Uncompressed data read:\s+(\d+)", run.stdout, re.MULTILINE)
    zipped = re.search(r"^Compressed data read:\s+(\d+)", run.stdout, re.MULTILINE)
    return {
        "seconds": float(real.group(1)),
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
    probe = (
        "import rdataloader, ROOT\n"
        "cls = ROOT.ML.RDataLoader\n"
        "assert cls.__module__.startswith('rdataloader'), cls.__module__\n"
    )
    run = run_process([sys.executable, "-c", probe], timeout=300)
    return None if run.returncode == 0 else run.error_summary()


def loader_class(kind: str) -> Any:
    """The loader class of ``kind`` ("root": ROOT's own, "ours": this project's)."""
    import ROOT

    if kind == "root":
        return ROOT.Experimental.ML.RDataLoader
    if kind == "ours":
        import rdataloader  # noqa: F401  (registers ROOT.ML.RDataLoader)

        return ROOT.ML.RDataLoader
    raise ValueError(f"unknown loader kind {kind!r}; expected one of {sorted(LOADER_NAMES)}")


@dataclass
class EpochTiming:
    """What one pass over the batches cost, as seen by the consumer."""

    seconds: float
    entries: int
    batches: int
    seconds_waiting: float
    first_batch_wallclock: float | None = None
    label_means: list[float] = field(default_factory=list)

    @property
    def entries_per_second(self) -> float:
        return self.entries / self.seconds if self.seconds > 0 else float("nan")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("label_means")
        return data


def run_epoch(
    batches: Iterable[Any],
    step: Callable[[Any, Any], None] | None = None,
    keep_label_means: bool = False,
) -> EpochTiming:
    """Iterate over one epoch of ``(x, y)`` batches, timing the waits for each next batch.

    ``step(x, y)``, if given, is the work done per batch (e.g. a training step); its time counts
    in ``seconds`` but not in ``seconds_waiting``.
    """
    start = time.perf_counter()
    iterator = iter(batches)
    waiting = 0.0
    entries = 0
    count = 0
    first_batch_wallclock = None
    label_means: list[float] = []
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
        if keep_label_means:
            label_means.append(float(y.mean()))
        if step is not None:
            step(x, y)
    return EpochTiming(
        seconds=time.perf_counter() - start,
        entries=entries,
        batches=count,
        seconds_waiting=waiting,
        first_batch_wallclock=first_batch_wallclock,
        label_means=label_means,
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
