"""Throughput, first-batch latency and memory of ML batch loaders, against ROOT's read-speed limit.

Every measurement runs in a fresh Python process (this script re-run with ``--worker``), reads
the same file(s) with a warm page cache, and delivers shuffled NumPy batches of 1024 entries:
features ``(1024, n)`` float32 and the ``label`` as target. Nothing consumes the batches unless
a section says so. The reference is ``rootreadspeed``, which reads every branch of the file
once through TTree, without building batches: the I/O limit of a loader built on TTree reading.

Sections: the main comparison (zlib and LZ4 files), eager loading, a filtered dataframe, a
consumer training a small MLP, and (with ``--scaling``) 5/20/100 columns and 0.5M/2M/8M entries,
each also with one reading thread.
Our loader runs its engine from an engine cache of this run's own, compiled before the
measurements, except in the "first run" row (cache off: cling compiles the engine).

    python benchmarks/throughput.py                              # full run, about 15 minutes
    python benchmarks/throughput.py --entries 20000 --quick      # smoke test, about 1 minute
    python benchmarks/throughput.py --scaling                    # adds the sweep, about 20 minutes in all
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from _common import (
    LABEL,
    LOADER_NAMES,
    RESULTS_DIR,
    TREE,
    MLPStep,
    dataset_path,
    describe_tree,
    feature_names,
    fmt,
    generate_dataset,
    make_loader,
    markdown_table,
    median,
    ours_unavailable_reason,
    rootreadspeed,
    rss_mb,
    run_epoch,
    run_worker,
    save_figure,
    warm_page_cache,
    worker_main,
)

SCRIPT = Path(__file__).resolve()
BATCH_SIZE = 1024
SEED = 42
#: Entries per read step of the uproot and f9columnar readers (about 8 MiB of 21 columns).
STEP_ENTRIES = 100_000
#: Keeps about half of the entries, independently of the label (f1 is N(0, 1) noise).
FILTER = "f1 > 0"
DEFAULT_ENTRIES = 2_000_000
DEFAULT_FEATURES = 20
#: rdataloader's engine cache. Each run of this script keeps its own, filled by ``compile_engine`` before
#: the measurements: rows of ours run the compiled engine, as a user's every run after the first does,
#: except the "first run" row, which turns the cache off and so has cling compile the engine.
ENGINE_CACHE = "RDATALOADER_ENGINE_CACHE"


# --------------------------------------------------------------------------------------------
# Child side: the batch sources. Constructing one is the "baseline" (imports + opening the
# input); ``epoch()`` is a generator, so building the loader counts in the first epoch.
# --------------------------------------------------------------------------------------------


def open_dataframe(case: dict[str, Any]) -> Any:
    """The RDataFrame of the case, with its filter if any, its column list already read."""
    import ROOT

    df = ROOT.RDataFrame(TREE, case["file"])
    if case.get("filter"):
        df = df.Filter(case["filter"])
    df.GetColumnNames()
    return df


class LoaderSource:
    """ROOT's ``RDataLoader`` or ours, on one dataframe."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.case = case
        self.df = open_dataframe(case)
        self.loader: Any = None

    def epoch(self) -> Iterator[Any]:
        if self.loader is None:
            self.loader = make_loader(
                self.case["loader"],
                self.df,
                self.case["features"],
                BATCH_SIZE,
                shuffle=True,
                batches_in_memory=self.case.get("batches_in_memory"),
                set_seed=SEED,
                load_eager=self.case.get("load_eager", False),
                **({"read_threads": self.case["read_threads"]} if "read_threads" in self.case else {}),
            )
        yield from self.loader.as_numpy()

    def extra(self) -> dict[str, Any]:
        stats = getattr(self.loader, "stats", None)
        return {"stats": json.loads(json.dumps(stats(), default=str))} if stats else {}


class UprootSource:
    """uproot's ``iterate`` in steps of ``STEP_ENTRIES``, each step shuffled with NumPy."""

    def __init__(self, case: dict[str, Any]) -> None:
        import numpy as np
        import uproot

        self.np = np
        self.features = case["features"]
        self.tree = uproot.open(case["file"])[TREE]
        self.rng = np.random.default_rng(SEED)

    def epoch(self) -> Iterator[Any]:
        np = self.np
        carry_x = np.empty((0, len(self.features)), dtype=np.float32)
        carry_y = np.empty(0, dtype=np.int32)
        for arrays in self.tree.iterate([LABEL, *self.features], step_size=STEP_ENTRIES, library="np"):
            order = self.rng.permutation(len(arrays[LABEL]))
            x = np.concatenate([carry_x, np.stack([arrays[f] for f in self.features], axis=1)[order]])
            y = np.concatenate([carry_y, arrays[LABEL][order]])
            full = len(y) - len(y) % BATCH_SIZE
            for start in range(0, full, BATCH_SIZE):
                yield x[start : start + BATCH_SIZE], y[start : start + BATCH_SIZE]
            carry_x, carry_y = x[full:], y[full:]


class F9ColumnarSource:
    """f9columnar's chunk dataloader (uproot underneath), chunks and entries shuffled, in-process."""

    def __init__(self, case: dict[str, Any]) -> None:
        import numpy as np
        from f9columnar.pipeline.dataloader import get_chunk_dataloader
        from f9columnar.pipeline.readers import get_chunk_reader

        self.np = np
        self.features = case["features"]
        reader = get_chunk_reader("root", fields=[LABEL, *self.features], key=TREE)
        self.loader, _, _ = get_chunk_dataloader(
            "benchmark",
            [case["file"]],
            reader,
            step_size=STEP_ENTRIES,
            num_workers=case.get("num_workers", 0),
            shuffle_chunks=True,
            shuffle_batch=True,
            batch_size=BATCH_SIZE,
            drop_last=True,
            base_seed=SEED,
        )

    def epoch(self) -> Iterator[Any]:
        np = self.np
        for arrays, _report in self.loader:
            x = np.stack([arrays[f].to_numpy() for f in self.features], axis=1)
            yield x, arrays[LABEL].to_numpy()


class AsNumpySource:
    """``df.AsNumpy`` + ``np.stack`` once, then a NumPy permutation per epoch."""

    def __init__(self, case: dict[str, Any]) -> None:
        import numpy as np

        self.np = np
        self.features = case["features"]
        self.df = open_dataframe(case)
        self.rng = np.random.default_rng(SEED)
        self.x: Any = None
        self.y: Any = None

    def epoch(self) -> Iterator[Any]:
        if self.x is None:
            arrays = self.df.AsNumpy([LABEL, *self.features])
            self.x = self.np.stack([arrays.pop(f) for f in self.features], axis=1)
            self.y = arrays.pop(LABEL)
        order = self.rng.permutation(len(self.y))
        for start in range(0, len(order) - BATCH_SIZE + 1, BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            yield self.x[rows], self.y[rows]


SOURCES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "loader": LoaderSource,
    "uproot": UprootSource,
    "f9columnar": F9ColumnarSource,
    "asnumpy": AsNumpySource,
}


class FirstFeatureRecorder:
    """Per-batch step keeping the first feature, to count the distinct entries of an epoch.

    The features are continuous, so distinct values ~ distinct entries (float32 collisions make a
    correct epoch of 1M entries come out at about 99%).
    """

    def __init__(self) -> None:
        self.chunks: list[Any] = []

    def __call__(self, x: Any, y: Any) -> None:
        self.chunks.append(x[:, 0].copy())

    def distinct_fraction(self) -> float:
        import numpy as np

        values = np.concatenate(self.chunks)
        self.chunks = []
        return len(np.unique(values)) / len(values)


def measure(case: dict[str, Any]) -> dict[str, Any]:
    """Child process: open the source, note the baseline RSS, run the epochs."""
    if "engine_cache" in case:
        os.environ[ENGINE_CACHE] = case["engine_cache"]
    step = MLPStep(len(case["features"])) if case.get("mlp") else None
    recorder = FirstFeatureRecorder() if case.get("count_distinct") else None
    try:
        source = SOURCES[case["source"]](case)
    except ImportError as error:
        return {"error": f"not installed: {error}"}
    baseline = rss_mb()
    epochs = []
    distinct = []
    for _ in range(case["epochs"]):
        epochs.append(run_epoch(source.epoch(), step or recorder))
        if recorder is not None:
            distinct.append(recorder.distinct_fraction())
    result = {
        "baseline_rss_mb": baseline,
        "first_batch_s": epochs[0].first_batch_wallclock - case["t_spawn"] if epochs[0].batches else None,
        "epochs": [asdict(e) for e in epochs],
        "distinct_fraction": distinct,
    }
    if hasattr(source, "extra"):
        result.update(source.extra())
    return result


# --------------------------------------------------------------------------------------------
# Parent side
# --------------------------------------------------------------------------------------------


class Runner:
    """Runs the measurements, ``repeat`` fresh processes each.

    Keeps the best (smallest) time of the repeats, which is the least disturbed by whatever else
    runs on the machine, and the median of everything else.
    """

    def __init__(self, repeat: int, ours_reason: str | None) -> None:
        self.repeat = repeat
        self.ours_reason = ours_reason
        self.raw: list[dict[str, Any]] = []

    def source(self, name: str, **case: Any) -> dict[str, Any]:
        """One batch source over the repeats; ``{"error": ...}`` if it failed or is absent."""
        if case.get("loader") == "ours" and self.ours_reason:
            return {"error": f"unavailable: {self.ours_reason}"}
        case = {"kind": "measure", "epochs": 2, **case}
        runs = [run_worker(SCRIPT, case) for _ in range(self.repeat)]
        self.raw.append({"name": name, "case": case, "runs": runs})
        good = [r for r in runs if "error" not in r]
        if not good:
            print(f"  {name}: {runs[-1]['error']}", file=sys.stderr)
            return {"error": runs[-1]["error"]}
        best = min(good, key=lambda r: r["epochs"][-1]["seconds"])
        last = best["epochs"][-1]
        summary = {
            "seconds": last["seconds"],
            "cpu_seconds": min(r["epochs"][-1]["cpu_seconds"] for r in good),
            "entries": last["entries"],
            "waiting_fraction": last["seconds_waiting"] / last["seconds"],
            "epoch1_seconds": best["epochs"][0]["seconds"],
            "first_batch_s": min(r["first_batch_s"] for r in good),
            "peak_rss_mb": median([r["peak_rss_mb"] for r in good]),
            "above_baseline_mb": median([r["peak_rss_mb"] - r["baseline_rss_mb"] for r in good]),
            "stats": best.get("stats"),
            "distinct_fraction": best["distinct_fraction"],
        }
        summary["rate"] = summary["entries"] / summary["seconds"]
        print(f"  {name}: {summary['rate'] / 1e6:.3f} M entries/s", file=sys.stderr)
        return summary

    def readspeed(self, name: str, files: list[str], threads: int, entries: int, branches: list[str] | None = None):
        """``rootreadspeed`` over the repeats."""
        runs = [rootreadspeed(files, threads, branches) for _ in range(self.repeat)]
        self.raw.append({"name": name, "runs": runs})
        good = [r for r in runs if "error" not in r]
        if not good:
            return {"error": runs[-1]["error"]}
        seconds = min(r["seconds"] for r in good)
        print(f"  {name}: {entries / seconds / 1e6:.3f} M entries/s", file=sys.stderr)
        return {
            "seconds": seconds,
            "cpu_seconds": min(r["cpu_seconds"] for r in good),
            "entries": entries,
            "rate": entries / seconds,
            "peak_rss_mb": median([r["peak_rss_mb"] for r in good]),
        }


def compile_engine(runner: Runner, file: str, features: list[str]) -> float | None:
    """Runs our loader once over ``features``, as a user's first run, and waits for the engine compilation
    that it starts in the background; returns the seconds from the start of that run to the compiled
    engine (None when nothing was compiled: unavailable, no compiler, or already cached)."""
    if runner.ours_reason:
        return None
    cache = Path(os.environ[ENGINE_CACHE])
    before = set(cache.glob("*.so"))
    started = time.monotonic()
    run_worker(SCRIPT, {"kind": "measure", "epochs": 1, "source": "loader", "loader": "ours", "file": file,
                        "features": features})
    while any(cache.glob("*.building")) and time.monotonic() - started < 900:
        time.sleep(0.5)
    compiled = set(cache.glob("*.so")) - before
    print(f"  engine for {len(features)} features compiled: {bool(compiled)}", file=sys.stderr)
    return time.monotonic() - started if compiled else None


def ratio(result: dict[str, Any], reference: dict[str, Any]) -> str:
    """Throughput of ``result`` relative to ``reference``, as ``0.42x``."""
    if "rate" not in result or "rate" not in reference:
        return "–"
    return f"{result['rate'] / reference['rate']:.2f}x"


def rate_cell(result: dict[str, Any]) -> str:
    return fmt(result["rate"] / 1e6, 3) if "rate" in result else result.get("error", "–")


def main_comparison(runner: Runner, file: str, entries: int, features: list[str]) -> dict[str, dict]:
    """rootreadspeed and every loader on one file."""
    base = {"file": file, "features": features}
    results = {
        "rootreadspeed --threads 2": runner.readspeed("rootreadspeed -t2", [file], 2, entries),
        "rootreadspeed --threads 0": runner.readspeed("rootreadspeed -t0", [file], 0, entries),
        LOADER_NAMES["root"]: runner.source("root", source="loader", loader="root", **base),
        "uproot.iterate + np shuffle": runner.source("uproot", source="uproot", **base),
        "f9columnar (num_workers=0)": runner.source("f9columnar", source="f9columnar", **base),
        # As many worker processes as our loader has reading threads.
        "f9columnar (num_workers=2)": runner.source("f9columnar 2", source="f9columnar", num_workers=2, **base),
        LOADER_NAMES["ours"]: runner.source("ours", source="loader", loader="ours", **base),
        f"{LOADER_NAMES['ours']}, batches_in_memory=10": runner.source(
            "ours bim=10", source="loader", loader="ours", batches_in_memory=10, **base
        ),
        f"{LOADER_NAMES['ours']}, read_threads=1": runner.source(
            "ours 1 thread", source="loader", loader="ours", read_threads=1, **base
        ),
        f"{LOADER_NAMES['ours']}, first run (cling compiles the engine)": runner.source(
            "ours first run", source="loader", loader="ours", engine_cache="", **base
        ),
    }
    return results


def stats_table(results: dict[str, dict], file: str) -> str:
    """What our loader's ``stats()`` said about its epoch 2, next to what the consumer measured."""
    rows = []
    for name, r in results.items():
        stats = r.get("stats")
        if not stats:
            continue
        rows.append(
            [
                name,
                fmt(r["seconds"]),
                fmt(stats.get("seconds")),
                fmt(stats.get("seconds_to_first_batch"), 3),
                fmt(stats.get("seconds_waiting")),
                f"{stats.get('bytes_read', 0) / os.path.getsize(file):.2f}",
                fmt(stats.get("label_mix_r")),
            ]
        )
    headers = [
        "loader",
        "epoch 2, consumer (s)",
        "stats: seconds",
        "stats: seconds_to_first_batch",
        "stats: seconds_waiting",
        "stats: bytes_read / file size",
        "stats: label_mix_r",
    ]
    return markdown_table(headers, rows)


def main_table(results: dict[str, dict]) -> str:
    reference = results["rootreadspeed --threads 2"]
    rows = []
    for name, r in results.items():
        if "error" in r:
            rows.append([name, r["error"], "", "", "", "", "", ""])
            continue
        rows.append(
            [
                name,
                fmt(r["seconds"]),
                rate_cell(r),
                ratio(r, reference),
                fmt(r.get("cpu_seconds")),
                fmt(r.get("first_batch_s")),
                fmt(r["peak_rss_mb"], 0),
                fmt(r.get("above_baseline_mb"), 0),
            ]
        )
    headers = [
        "reader",
        "epoch 2 (s)",
        "M entries/s",
        "vs rootreadspeed -t2",
        "CPU (s)",
        "first batch after start (s)",
        "peak RSS (MiB)",
        "RSS above baseline (MiB)",
    ]
    return markdown_table(headers, rows)


def eager_section(runner: Runner, file: str, features: list[str]) -> str:
    base = {"file": file, "features": features}
    results = {
        "df.AsNumpy + np.stack, NumPy permutation": runner.source("asnumpy", source="asnumpy", **base),
        f"{LOADER_NAMES['root']}, load_eager=True": runner.source(
            "root eager", source="loader", loader="root", load_eager=True, **base
        ),
        f"{LOADER_NAMES['ours']}, load_eager=True": runner.source(
            "ours eager", source="loader", loader="ours", load_eager=True, **base
        ),
    }
    rows = []
    for name, r in results.items():
        if "error" in r:
            rows.append([name, r["error"], "", "", "", ""])
        else:
            cells = [r["first_batch_s"], r["epoch1_seconds"], r["seconds"], r["peak_rss_mb"], r["above_baseline_mb"]]
            rows.append([name, *(fmt(c, d) for c, d in zip(cells, (2, 2, 2, 0, 0)))])
    headers = [
        "eager path",
        "first batch after start (s)",
        "epoch 1 (s)",
        "epoch 2 (s)",
        "peak RSS (MiB)",
        "RSS above baseline (MiB)",
    ]
    return markdown_table(headers, rows)


#: Where each filtered row's epoch 2 evaluates the filter: ROOT's loader runs it in every epoch; ours records
#: the passing entries when it counts them and then reads only those, unless read_threads=0 (the event loop).
#: Every row's "filtered / unfiltered" divides by the loader's default unfiltered row.
FILTER_ROWS = [
    ("root", {}, "evaluated (event loop)"),
    ("ours", {}, "not evaluated: passing entries recorded at creation"),
    ("ours", {"read_threads": 0}, "evaluated (event loop, read_threads=0)"),
]


def filter_section(runner: Runner, file: str, features: list[str], unfiltered: dict[str, dict]) -> str:
    rows = []
    for kind, options, evaluation in FILTER_ROWS:
        name = LOADER_NAMES[kind] + "".join(f", {k}={v}" for k, v in options.items())
        plain = unfiltered[LOADER_NAMES[kind]]
        cut = runner.source(
            f"{kind} filtered {options}",
            source="loader",
            loader=kind,
            file=file,
            features=features,
            filter=FILTER,
            count_distinct=True,
            **options,
        )
        if "error" in plain or "error" in cut:
            rows.append([name, evaluation, plain.get("error", ""), cut.get("error", ""), "", "", "", ""])
            continue
        per_plain = plain["seconds"] / plain["entries"] * 1e6
        per_cut = cut["seconds"] / cut["entries"] * 1e6
        distinct = " / ".join(f"{100 * d:.1f}%" for d in cut["distinct_fraction"])
        rows.append(
            [
                name,
                evaluation,
                fmt(per_plain, 3),
                str(cut["entries"]),
                fmt(cut["seconds"]),
                fmt(per_cut, 3),
                f"{per_cut / per_plain:.2f}x",
                distinct,
            ]
        )
    headers = [
        "loader",
        "filter in epoch 2",
        "unfiltered (µs/entry)",
        f"entries passing `{FILTER}`",
        "filtered epoch 2 (s)",
        "filtered (µs/passing entry)",
        "filtered / unfiltered",
        "distinct entries, epoch 1 / 2",
    ]
    return markdown_table(headers, rows)


def consumer_section(runner: Runner, file: str, features: list[str]) -> str:
    base = {"file": file, "features": features, "mlp": True}
    results = {
        "in memory (df.AsNumpy)": runner.source("mlp asnumpy", source="asnumpy", **base),
        LOADER_NAMES["root"]: runner.source("mlp root", source="loader", loader="root", **base),
        "uproot.iterate + np shuffle": runner.source("mlp uproot", source="uproot", **base),
        LOADER_NAMES["ours"]: runner.source("mlp ours", source="loader", loader="ours", **base),
    }
    rows = []
    for name, r in results.items():
        if "error" in r:
            rows.append([name, r["error"], "", ""])
        else:
            rows.append(
                [
                    name,
                    fmt(r["seconds"]),
                    fmt(r["seconds"] * r["waiting_fraction"]),
                    f"{100 * r['waiting_fraction']:.1f}%",
                ]
            )
    headers = ["loader feeding the MLP", "epoch 2 (s)", "waiting for batches (s)", "waiting / wall time"]
    return markdown_table(headers, rows)


def scaling_section(runner: Runner, data_dir: Path, entries: int) -> str:
    points = [(5, entries), (20, entries), (100, entries), (20, entries // 4), (20, entries * 4)]
    rows = []
    for n_features, n_entries in points:
        file = str(generate_dataset(dataset_path(data_dir, n_entries, n_features, "zlib"), n_entries, n_features))
        warm_page_cache([file])
        features = feature_names(n_features)
        compile_engine(runner, file, features)
        label = f"{n_features} cols, {n_entries / 1e6:g}M"
        reference = runner.readspeed(f"{label} rootreadspeed", [file], 2, n_entries)
        root = runner.source(f"{label} root", source="loader", loader="root", file=file, features=features)
        ours = runner.source(f"{label} ours", source="loader", loader="ours", file=file, features=features)
        one_thread = runner.source(
            f"{label} ours 1 thread", source="loader", loader="ours", read_threads=1, file=file, features=features
        )
        n_columns = n_features + 1
        row = [str(n_columns), f"{n_entries / 1e6:g}M", rate_cell(reference), rate_cell(root), ratio(root, reference)]
        row += [rate_cell(ours), ratio(ours, reference), value_cost_cell(ours, n_columns)]
        row += [rate_cell(one_thread), ratio(ours, one_thread)]
        rows.append(row)
    headers = [
        "columns",
        "entries",
        "rootreadspeed -t2 (M/s)",
        "ROOT 6.40 loader (M/s)",
        "vs rrs",
        "rdataloader (M/s)",
        "vs rrs",
        "ns per value",
        "rdataloader, read_threads=1 (M/s)",
        "2 threads / 1",
    ]
    return markdown_table(headers, rows)


def value_cost_cell(result: dict[str, Any], n_columns: int) -> str:
    """Wall time per value read (entry × column), in ns: flat when cost grows linearly with both."""
    if "rate" not in result:
        return "–"
    return f"{1e9 / (result['rate'] * n_columns):.1f}"


def plot(results: dict[str, dict[str, dict]], path: Path) -> None:
    """Bar charts of throughput, first-batch latency and extra memory, one bar group per file."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed; no plot written", file=sys.stderr)
        return
    names = list(next(iter(results.values())))
    panels = [
        ("rate", 1e-6, "throughput (M entries/s)"),
        ("first_batch_s", 1.0, "first batch after process start (s)"),
        ("above_baseline_mb", 1.0, "peak RSS above baseline (MiB)"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 5))
    width = 0.8 / len(results)
    for ax, (key, scale, title) in zip(axes, panels):
        for i, (compression, by_reader) in enumerate(results.items()):
            values = [by_reader[n].get(key, 0.0) * scale if by_reader[n].get(key) is not None else 0.0 for n in names]
            ax.bar([j + i * width for j in range(len(names))], values, width, label=compression)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(names))])
        ax.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
        ax.set_title(title)
        ax.legend()
    fig.suptitle(f"Shuffled NumPy batches of {BATCH_SIZE} (missing bar: not applicable or unavailable)")
    save_figure(fig, path)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=DEFAULT_ENTRIES, help="entries of the generated file")
    parser.add_argument("--input", help=f"use this file (TTree '{TREE}', an int '{LABEL}' and float features)")
    parser.add_argument("--data-dir", type=Path, default=RESULTS_DIR / "data", help="where generated files go")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per measurement")
    parser.add_argument("--quick", action="store_true", help="one process per measurement, zlib file only")
    parser.add_argument("--scaling", action="store_true", help="add the columns/entries sweep (slow)")
    parser.add_argument("--plot", type=Path, default=RESULTS_DIR / "throughput.png", help="PNG to write")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "throughput.json", help="raw results")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.worker:
        worker_main({"measure": measure}, args.worker)
        return
    engines = tempfile.mkdtemp(prefix="rdataloader-bench-engines-")
    os.environ[ENGINE_CACHE] = engines
    try:
        run(args)
    finally:
        shutil.rmtree(engines, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    repeat = 1 if args.quick else args.repeat
    if args.input:
        entries, columns = describe_tree(args.input)
        features = [c for c in columns if c != LABEL]
        files = {"input": args.input}
    else:
        entries, features = args.entries, feature_names(DEFAULT_FEATURES)
        compressions = ["zlib"] if args.quick else ["zlib", "lz4"]
        files = {
            c: str(
                generate_dataset(
                    dataset_path(args.data_dir, entries, DEFAULT_FEATURES, c), entries, DEFAULT_FEATURES, c
                )
            )
            for c in compressions
        }
    warm_page_cache(list(files.values()))
    ours_reason = ours_unavailable_reason()
    if ours_reason:
        print(f"rdataloader is unavailable: {ours_reason}", file=sys.stderr)
    runner = Runner(repeat, ours_reason)
    compile_seconds = compile_engine(runner, next(iter(files.values())), features)

    report = [
        f"Batches of {BATCH_SIZE}, shuffled, NumPy output; {entries} entries, {len(features)} features + "
        f"label; {repeat} fresh process(es) per row: best time, median memory; epoch 2 of 2 unless "
        f"said otherwise; load average at start {os.getloadavg()[0]:.1f}. Rows of rdataloader run the "
        f"engine from its engine cache, compiled in the background by the run before them "
        f"({fmt(compile_seconds)} s from that run's start), except the first-run row.\n"
    ]
    comparisons = {}
    for compression, file in files.items():
        print(f"main comparison, {compression}", file=sys.stderr)
        comparisons[compression] = main_comparison(runner, file, entries, features)
        report += [
            f"### Throughput, first batch, memory ({compression}: {Path(file).name})\n",
            main_table(comparisons[compression]),
            "",
            stats_table(comparisons[compression], file),
            "",
        ]
    main_file = next(iter(files.values()))
    first = next(iter(comparisons.values()))
    print("eager loading", file=sys.stderr)
    report += ["### Eager loading\n", eager_section(runner, main_file, features), ""]
    print("filtered dataframe", file=sys.stderr)
    report += [
        f'### Filtered dataframe (`Filter("{FILTER}")`)\n',
        filter_section(runner, main_file, features, first),
        "",
    ]
    print("MLP consumer", file=sys.stderr)
    report += [
        "### Consumer: one MLP training step per batch (torch, 1 thread)\n",
        consumer_section(runner, main_file, features),
        "",
    ]
    if args.scaling and not args.input:
        print("scaling", file=sys.stderr)
        report += ["### Scaling (zlib, epoch 2)\n", scaling_section(runner, args.data_dir, entries), ""]

    print("\n".join(report))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"summary": comparisons, "raw": runner.raw}, indent=1, default=str))
    plot(comparisons, args.plot)


if __name__ == "__main__":
    main()
