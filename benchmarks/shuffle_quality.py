"""Shuffle quality across files and clusters: how well do the batches mix two sorted files?

Two files, ``sig.root`` (label 1) and ``bkg.root`` (label 0), 500k entries each, 8 float
features: N(+0.3, 1) for signal and N(-0.3, 1) for background (Bayes-optimal accuracy 80%).
Each file is sorted by ``f0``, as skims sorted by some variable often are, so a loader that mixes
only nearby entries gives batches of one class *and* of a narrow slice of ``f0``. The two files
are given to the loader as a list of two RDataFrames, batch size 256, ``shuffle=True``.

Per loader and mode, in a fresh process each:

* epoch 1: R = std over batches of the batch mean label / sqrt(p (1 - p) / batch_size)
  (about 1 for a perfect shuffle, sqrt(batch_size) = 16 when every batch is pure), the
  fraction of pure (one-class) batches, bytes read (``TFile::GetFileBytesRead``) against the
  files' size;
* epoch 2: the epoch time, with nothing else done (epoch 1 includes compiling the loader);
* epoch 3: one epoch of training of a small MLP, then accuracy and log-loss on a mixed held-out
  test set, against the same model fed a perfect in-memory shuffle;
* over the whole process: the peak RSS above the baseline (imports, test set, dataframes);
* a second process with ``shuffle=False`` gives the unshuffled epoch time (its epoch 2).

    python benchmarks/shuffle_quality.py                       # full run, about 10 minutes
    python benchmarks/shuffle_quality.py --entries 20000 --quick
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from _common import (
    LABEL,
    LOADER_NAMES,
    RESULTS_DIR,
    TREE,
    MLPStep,
    compressed_bytes,
    feature_names,
    fmt,
    make_loader,
    markdown_table,
    ours_unavailable_reason,
    rss_mb,
    run_epoch,
    run_worker,
    save_figure,
    warm_page_cache,
    worker_main,
    write_tree,
)

SCRIPT = Path(__file__).resolve()
BATCH_SIZE = 256
N_FEATURES = 8
FEATURES = feature_names(N_FEATURES)
#: Signal features are N(+SHIFT, 1), background N(-SHIFT, 1).
SHIFT = 0.3
SEED = 7
TEST_SEED = 12345
DEFAULT_ENTRIES = 500_000

#: (table label, loader kind, options). ``batches_in_memory=None`` is the loader's default.
MODES: list[tuple[str, str, dict[str, Any]]] = [
    ("perfect in-memory shuffle", "memory", {}),
    (LOADER_NAMES["root"], "root", {"batches_in_memory": 10}),
    (LOADER_NAMES["root"], "root", {"batches_in_memory": 1000}),
    (LOADER_NAMES["root"], "root", {"load_eager": True}),
    (LOADER_NAMES["ours"], "ours", {"batches_in_memory": None}),
    (LOADER_NAMES["ours"], "ours", {"batches_in_memory": 1}),
    (LOADER_NAMES["ours"], "ours", {"batches_in_memory": 10}),
    (LOADER_NAMES["ours"], "ours", {"batches_in_memory": 100}),
    (LOADER_NAMES["ours"], "ours", {"batches_in_memory": 1000}),
    (LOADER_NAMES["ours"], "ours", {"load_eager": True}),
    (LOADER_NAMES["ours"], "ours", {"shuffle": "global", "batches_in_memory": 10}),
    (LOADER_NAMES["ours"], "ours", {"shuffle": "global", "batches_in_memory": None}),
]

#: The modes of --quick, per loader kind, by their table label.
QUICK_MODES = {"memory": {"–"}, "root": {"10"}, "ours": {"default", "10", '10, shuffle="global"'}}


def class_sample(rng: Any, entries: int, label: int) -> dict[str, Any]:
    """``entries`` entries of one class: features N(+-SHIFT, 1), sorted by ``f0``."""
    import numpy as np

    mean = SHIFT if label == 1 else -SHIFT
    x = rng.normal(mean, 1.0, size=(entries, N_FEATURES)).astype(np.float32)
    x = x[np.argsort(x[:, 0], kind="stable")]
    columns = {LABEL: np.full(entries, label, dtype=np.int32)}
    columns.update({name: np.ascontiguousarray(x[:, i]) for i, name in enumerate(FEATURES)})
    return columns


def test_set(entries: int) -> tuple[Any, Any]:
    """A mixed held-out set, ``entries`` per class, from its own seed."""
    import numpy as np

    rng = np.random.default_rng(TEST_SEED)
    parts = [class_sample(rng, entries, label) for label in (0, 1)]
    x = np.concatenate([np.stack([p[f] for f in FEATURES], axis=1) for p in parts])
    y = np.concatenate([p[LABEL] for p in parts])
    return x, y


def generate(case: dict[str, Any]) -> dict[str, Any]:
    """Child process: write ``sig.root`` and ``bkg.root``."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    for label, path in ((1, case["sig"]), (0, case["bkg"])):
        write_tree(Path(path), class_sample(rng, case["entries"], label))
    return {}


# --------------------------------------------------------------------------------------------
# Child side
# --------------------------------------------------------------------------------------------


class LabelRecorder:
    """Per-batch step keeping the mean label of each batch."""

    def __init__(self) -> None:
        self.means: list[float] = []

    def __call__(self, x: Any, y: Any) -> None:
        self.means.append(float(y.mean()))

    def summary(self) -> dict[str, float]:
        """R and the fraction of pure batches of the recorded epoch."""
        import numpy as np

        means = np.asarray(self.means)
        p = float(means.mean())
        expected = np.sqrt(p * (1 - p) / BATCH_SIZE)
        pure = float(np.mean((means == 0) | (means == 1)))
        return {"label_mix_r": float(means.std() / expected) if expected > 0 else float("nan"), "pure": pure}


class MemorySource:
    """Both files read with ``AsNumpy`` into memory, then a NumPy permutation per epoch."""

    def __init__(self, dataframes: list[Any], shuffle: bool) -> None:
        import numpy as np

        self.np = np
        self.shuffle = shuffle
        self.dataframes = dataframes
        self.rng = np.random.default_rng(SEED)
        self.x: Any = None
        self.y: Any = None

    def epoch(self) -> Iterator[Any]:
        np = self.np
        if self.x is None:
            arrays = [df.AsNumpy([LABEL, *FEATURES]) for df in self.dataframes]
            self.x = np.concatenate([np.stack([a[f] for f in FEATURES], axis=1) for a in arrays])
            self.y = np.concatenate([a[LABEL] for a in arrays]).astype(np.float32)
        order = self.rng.permutation(len(self.y)) if self.shuffle else np.arange(len(self.y))
        for start in range(0, len(order) - BATCH_SIZE + 1, BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            yield self.x[rows], self.y[rows]


def measure(case: dict[str, Any]) -> dict[str, Any]:
    """Child process: one loader mode; epoch 1 for the mixing, 2 for the time, 3 for training."""
    import ROOT

    shuffle = case["shuffle"]
    model = MLPStep(N_FEATURES, seed=0) if shuffle else None
    x_test, y_test = test_set(case["test_entries"]) if shuffle else (None, None)
    dataframes = [ROOT.RDataFrame(TREE, f) for f in case["files"]]
    for df in dataframes:
        df.GetColumnNames()
    baseline = rss_mb()

    if case["loader"] == "memory":
        source = MemorySource(dataframes, shuffle)
        epochs = source.epoch
        stats = None
    else:
        options = dict(case["options"])
        mode_shuffle = options.pop("shuffle", True)
        loader = make_loader(
            case["loader"], dataframes, FEATURES, BATCH_SIZE, shuffle=mode_shuffle if shuffle else False,
            set_seed=SEED, **options
        )
        epochs = loader.as_numpy
        stats = getattr(loader, "stats", None)

    recorder = LabelRecorder()
    bytes_before = ROOT.TFile.GetFileBytesRead()
    first = run_epoch(epochs(), recorder)
    bytes_read = int(ROOT.TFile.GetFileBytesRead() - bytes_before)
    first_stats = stats() if stats is not None else {}
    result: dict[str, Any] = {
        "seconds_building_cache": first_stats.get("seconds_building_cache"),
        "cache_bytes": first_stats.get("cache_bytes"),
        "baseline_rss_mb": baseline,
        "first_epoch": asdict(first),
        "epoch": asdict(run_epoch(epochs())),
        "bytes_read": bytes_read,
        **recorder.summary(),
    }
    if stats is not None:
        result["stats"] = json.loads(json.dumps(stats(), default=str))
    if model is not None:
        result["training_epoch"] = asdict(run_epoch(epochs(), model))
        result.update(model.evaluate(x_test, y_test))
    return result


# --------------------------------------------------------------------------------------------
# Parent side
# --------------------------------------------------------------------------------------------


def mode_label(options: dict[str, Any]) -> str:
    """The options of a mode for the table: ``batches_in_memory``, ``load_eager`` or the global shuffle."""
    if options.get("load_eager"):
        return "load_eager=True"
    if "batches_in_memory" in options:
        value = options["batches_in_memory"]
        window = "default" if value is None else str(value)
        return f'{window}, shuffle="global"' if options.get("shuffle") == "global" else window
    return "–"


def run_modes(
    modes: list[tuple[str, str, dict[str, Any]]], files: list[str], entries: int, ours_reason: str | None
) -> list[dict[str, Any]]:
    """Every mode, shuffled and unshuffled, each in a fresh process."""
    rows = []
    for name, kind, options in modes:
        row = {"name": name, "kind": kind, "mode": mode_label(options)}
        if kind == "ours" and ours_reason:
            row["error"] = f"unavailable: {ours_reason}"
            rows.append(row)
            continue
        case = {
            "kind": "measure",
            "files": files,
            "loader": kind,
            "options": options,
            "test_entries": max(entries // 10, 1000),
        }
        print(f"  {name} [{row['mode']}]", file=sys.stderr)
        row["shuffled"] = run_worker(SCRIPT, {**case, "shuffle": True}, timeout=900)
        row["unshuffled"] = run_worker(SCRIPT, {**case, "shuffle": False}, timeout=900)
        for key in ("shuffled", "unshuffled"):
            if "error" in row[key]:
                row["error"] = f"{key}: {row[key]['error']}"
                print(f"    {row['error']}", file=sys.stderr)
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]], file_bytes: int) -> str:
    reference = next((r["shuffled"] for r in rows if r["kind"] == "memory" and "error" not in r), None)
    body = []
    for r in rows:
        if "error" in r:
            body.append([r["name"], r["mode"], r["error"], *[""] * 10])
            continue
        s, u = r["shuffled"], r["unshuffled"]
        accuracy = fmt(100 * s["accuracy"], 1)
        if reference is not None and r["kind"] != "memory":
            accuracy += f" ({100 * (s['accuracy'] - reference['accuracy']):+.1f})"
        stats_r = s.get("stats", {}).get("label_mix_r")
        feature_r = s.get("stats", {}).get("feature_mix_r")
        body.append(
            [
                r["name"],
                r["mode"],
                fmt(s["label_mix_r"]),
                fmt(stats_r),
                fmt(feature_r),
                f"{100 * s['pure']:.1f}%",
                fmt(s["peak_rss_mb"] - s["baseline_rss_mb"], 0),
                f"{s['bytes_read'] / file_bytes:.2f}",
                fmt(s["epoch"]["seconds"]),
                fmt(u["epoch"]["seconds"]),
                accuracy,
                fmt(s["log_loss"], 4),
            ]
        )
    headers = [
        "loader",
        "batches_in_memory",
        "R",
        "R (stats())",
        "worst feature R (stats())",
        "pure batches",
        "RSS above baseline (MiB)",
        "bytes read / file size",
        "epoch shuffled (s)",
        "epoch unshuffled (s)",
        "accuracy % (vs perfect)",
        "log-loss",
    ]
    return markdown_table(headers, body)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """R against extra memory, and the test log-loss, per mode."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed; no plot written", file=sys.stderr)
        return
    good = [r for r in rows if "error" not in r]
    labels = ["perfect shuffle" if r["kind"] == "memory" else f"{r['kind']} {r['mode']}" for r in good]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    for r, label in zip(good, labels):
        s = r["shuffled"]
        left.scatter(max(s["peak_rss_mb"] - s["baseline_rss_mb"], 1.0), s["label_mix_r"], label=label)
    left.axhline(1.0, color="grey", linestyle=":")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("peak RSS above baseline (MiB)")
    left.set_ylabel("R (1 = perfect shuffle)")
    left.legend(fontsize=7)
    right.bar(range(len(good)), [r["shuffled"]["log_loss"] for r in good])
    right.set_xticks(range(len(good)))
    right.set_xticklabels(labels, rotation=40, ha="right", fontsize=8)
    right.set_ylabel("test log-loss after one epoch")
    memory = next((r for r in good if r["kind"] == "memory"), None)
    if memory is not None:
        right.axhline(memory["shuffled"]["log_loss"], color="grey", linestyle=":")
    fig.suptitle(f"Two sorted files (signal, background), batch size {BATCH_SIZE}")
    save_figure(fig, path)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=DEFAULT_ENTRIES, help="entries per file")
    parser.add_argument("--data-dir", type=Path, default=RESULTS_DIR / "data", help="where the files go")
    parser.add_argument("--quick", action="store_true",
                        help="one mode of each kind: the perfect shuffle, ROOT's loader, ours streaming at the default "
                             "and at 10 batches, ours global (for CI)")
    parser.add_argument("--plot", type=Path, default=RESULTS_DIR / "shuffle_quality.png", help="PNG to write")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "shuffle_quality.json", help="raw results")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.worker:
        worker_main({"measure": measure, "generate": generate}, args.worker)
        return
    sig = args.data_dir / f"sig_{args.entries}.root"
    bkg = args.data_dir / f"bkg_{args.entries}.root"
    if not (sig.exists() and bkg.exists()):
        result = run_worker(SCRIPT, {"kind": "generate", "sig": str(sig), "bkg": str(bkg), "entries": args.entries})
        if "error" in result:
            sys.exit(f"generating the files failed: {result['error']}")
    files = [str(sig), str(bkg)]
    warm_page_cache(files)
    ours_reason = ours_unavailable_reason()
    if ours_reason:
        print(f"rdataloader is unavailable: {ours_reason}", file=sys.stderr)

    modes = [m for m in MODES if mode_label(m[2]) in QUICK_MODES[m[1]]] if args.quick else MODES
    rows = run_modes(modes, files, args.entries, ours_reason)
    print(
        f"Two sorted files of {args.entries} entries each (sig, bkg), {N_FEATURES} features, batch size "
        f"{BATCH_SIZE}, shuffle=True; files: {compressed_bytes(files) / 2**20:.1f} MiB compressed. "
        "Accuracy in brackets: difference to the perfect shuffle, in points.\n"
    )
    print(table(rows, compressed_bytes(files)))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1, default=str))
    plot(rows, args.plot)


if __name__ == "__main__":
    main()
