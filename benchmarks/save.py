#!/usr/bin/env python3
"""Saving a prepared dataset: ``RDataLoader.save`` against ``RDataFrame.Snapshot`` of the same columns.

Input: the NanoAOD-like TTree of ``_nanoaod.py`` (MET, 4 jet and 3 muon fields, a label). Each row runs in
a fresh process and times one write. The loader first compiles its engine and writer (one batch and one save
before the timed one: cling, about 15 s per process, not timed); Snapshot compiles its loop inside its timed
call (about a second). ``Snapshot`` writes the columns as stored
(jagged, in file order); ``save`` writes one epoch of a loader over the same columns (jets padded to 6, muons
to 2, shuffled or not, every entry kept: ``drop_remainder=False``), which includes reading and converting
them. Both write ROOT's default compression; the table gives seconds, entries written and the file's size.

    python benchmarks/save.py [--entries 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, markdown_table, run_worker, warm_page_cache, worker_main
from _nanoaod import JET_FIELDS, LABEL, MUON_FIELDS, NANO_TREE, generate

SCRIPT = Path(__file__).resolve()
COLUMNS = ["MET_pt", *JET_FIELDS, *MUON_FIELDS, LABEL]
SIZES = {**{c: 6 for c in JET_FIELDS}, **{c: 2 for c in MUON_FIELDS}}
ROWS = [  # (row, writer, format, shuffle)
    ("RDataFrame.Snapshot", "snapshot", "rntuple", None),
    ("rdataloader save, unshuffled", "save", "rntuple", False),
    ("rdataloader save, shuffled", "save", "rntuple", True),
    ("RDataFrame.Snapshot", "snapshot", "ttree", None),
    ("rdataloader save, shuffled", "save", "ttree", True),
]


def measure(case: dict[str, Any]) -> dict[str, Any]:
    """Child process: open the input, then time one Snapshot or one save (``case["writer"]``) into
    ``case["output"]``, the loader's after cling compiled its engine and writer."""
    import ROOT
    import rdataloader

    df = ROOT.RDataFrame(NANO_TREE, case["input"])
    output = case["output"]
    if case["writer"] == "snapshot":
        options = ROOT.RDF.RSnapshotOptions()
        if case["format"] == "rntuple":
            options.fOutputFormat = ROOT.RDF.ESnapshotOutputFormat.kRNTuple
        started = time.perf_counter()
        written = df.Snapshot("events", output, COLUMNS, options)
        seconds = time.perf_counter() - started
        entries = int(written.Count().GetValue())
    else:
        loader = ROOT.ML.RDataLoader(df, batch_size=1024, columns=COLUMNS, target=LABEL, max_vec_sizes=SIZES,
                                     shuffle=case["shuffle"], drop_remainder=False)
        # One batch instantiates the engine; a save of it, the writer. Both are compiled once per process.
        for _ in loader.as_numpy():
            break
        loader.save(output, format=case["format"], overwrite=True)
        started = time.perf_counter()
        loader.save(output, format=case["format"], overwrite=True)
        seconds = time.perf_counter() - started
        entries = rdataloader.saved_record(output)["entries"]
    size = os.path.getsize(output)
    os.unlink(output)
    return {"seconds": seconds, "entries": entries, "mib": size / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="events of the NanoAOD-like file")
    parser.add_argument("--data-dir", type=Path, default=RESULTS_DIR / "data", help="where generated files go")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per row (the fastest is shown)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main({"measure": measure}, args.worker)
        return
    source = str(generate(args.data_dir, args.entries, None)["nano_ttree"])
    warm_page_cache([source])
    rows = []
    with tempfile.TemporaryDirectory(prefix="rdataloader-save-") as scratch:
        for label, writer, format, shuffle in ROWS:
            case = {"kind": "measure", "writer": writer, "input": source, "format": format, "shuffle": shuffle,
                    "output": str(Path(scratch) / f"{writer}.root")}
            runs = [run_worker(SCRIPT, case) for _ in range(args.repeat)]
            good = [r for r in runs if "error" not in r]
            if not good:
                rows.append([format, label, f"error: {runs[-1]['error']}", "–", "–"])
                continue
            best = min(good, key=lambda r: r["seconds"])
            rows.append([format, label, f"{best['seconds']:.2f}", f"{best['entries']:,}", f"{best['mib']:.1f}"])
            print(f"  {format} {label}: {best['seconds']:.2f} s", file=sys.stderr)
    print(f"\n### Saving {args.entries:,} NanoAOD-like events ({len(COLUMNS)} columns), best of {args.repeat}\n")
    print(markdown_table(["format", "writer", "seconds", "entries", "MiB"], rows))


if __name__ == "__main__":
    main()
