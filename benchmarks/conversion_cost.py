"""What converting batches to torch and TensorFlow costs over NumPy, for one epoch of the 20-float file.

Each output is timed on the same loader, epochs interleaved (numpy, torch, tensorflow, numpy, ...)
so that machine noise hits all three alike; the table gives the median epoch and the ratio to NumPy.
The last row, "tf.data floor", iterates a ``tf.data.Dataset`` of the same batches already in memory:
the cost of a Python loop over any dataset, which ``as_tensorflow()`` cannot go below.

    python benchmarks/conversion_cost.py [--entries N] [--epochs E] [--input FILE]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def write_file(path: Path, entries: int) -> None:
    import ROOT

    df = ROOT.RDataFrame(entries).Define("label", "int(rdfentry_ % 2)")
    for i in range(20):
        df = df.Define(f"f{i}", "float(gRandom->Gaus())")
    df.Snapshot("tree", str(path), ["label"] + [f"f{i}" for i in range(20)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=2_000_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--input", type=Path, help="a file with a TTree 'tree' (default: generated)")
    args = parser.parse_args()

    import ROOT
    import tensorflow as tf  # noqa: F401  (imported before timing: its start-up is not a batch cost)
    import torch  # noqa: F401

    path = args.input or Path(tempfile.mkdtemp(prefix="rdataloader-bench-")) / "flat.root"
    if args.input is None:
        write_file(path, args.entries)
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", str(path)), batch_size=1024, target="label", set_seed=1)
    outputs = {"numpy": loader.as_numpy, "torch": loader.as_torch, "tensorflow": loader.as_tensorflow}
    times: dict[str, list[float]] = {name: [] for name in outputs}
    for epoch in range(args.epochs + 1):
        for name, make in outputs.items():
            start = time.perf_counter()
            for _ in make():
                pass
            if epoch > 0:  # the first round compiles and warms up
                times[name].append(time.perf_counter() - start)
    times["tf.data floor"] = _tf_floor(loader, args.epochs)
    reference = statistics.median(times["numpy"])
    print(f"{loader.num_entries} entries, batch 1024, {args.epochs} epochs each, interleaved\n")
    print("| output | median epoch [s] | ratio to NumPy |")
    print("| --- | --- | --- |")
    for name, values in times.items():
        label = name if name == "tf.data floor" else f"`as_{name}()`"
        print(f"| {label} | {statistics.median(values):.2f} | {statistics.median(values) / reference:.3f} |")


def _tf_floor(loader, epochs: int) -> list[float]:
    """Iterating a ``tf.data.Dataset`` of the same batches already held as tensors: what any dataset
    costs a Python loop per element, whatever feeds it."""
    import numpy as np
    import tensorflow as tf

    batches = [tuple(np.array(a) for a in b) for b in loader.as_numpy()]
    dataset = tf.data.Dataset.from_tensor_slices(tuple(np.stack(parts) for parts in zip(*batches)))
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for _ in dataset:
            pass
        times.append(time.perf_counter() - start)
    return times


if __name__ == "__main__":
    main()
