"""A prepared dataset: the selection, Defines and split computed once, saved, and trained on.

Training the same network on the same selection many times repeats the same work each epoch: Filters,
Defines over jagged columns, the split. ``loader.save(path)`` writes one epoch of a loader as it delivers
it (the features, targets and weights, vector columns padded to their ``max_vec_sizes``) as an RNTuple of
plain columns, and keeps in the file the keyword arguments that read it back. This tutorial prepares the
CMS H->ZZ candidates of the shared open-data file (a TTree of jagged muon, electron and jet collections),
saves the training and validation splits, checks that the saved training file delivers the same batches as
the epoch it was written from, and trains a small classifier from the saved files.

    python tutorials/prepared_dataset.py [--input uproot-HZZ.root] [--output-dir DIR]
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import ROOT
import rdataloader

SHARED_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "uproot-HZZ.root"

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--input", type=Path, default=SHARED_FILE, help="a file with the TTree 'events' of uproot-HZZ.root")
parser.add_argument("--output-dir", type=Path, help="where the prepared files go (default: a temporary directory)")
args = parser.parse_args()
output = args.output_dir or Path(tempfile.mkdtemp(prefix="rdataloader-prepared-"))
output.mkdir(parents=True, exist_ok=True)

# 1. The selection: events with two muons, their transverse momenta and the dimuon mass computed from the
#    jagged columns, and a label (does the event have a jet?) to learn from muon and missing-energy features.
df = (
    ROOT.RDataFrame("events", str(args.input))
    .Filter("NMuon >= 2", "two muons")
    .Define("Muon_pt", "sqrt(Muon_Px * Muon_Px + Muon_Py * Muon_Py)")
    .Define("mumu_mass", "float(sqrt(pow(Muon_E[0] + Muon_E[1], 2) - pow(Muon_Px[0] + Muon_Px[1], 2)"
                         " - pow(Muon_Py[0] + Muon_Py[1], 2) - pow(Muon_Pz[0] + Muon_Pz[1], 2)))")
    .Define("has_jet", "int(NJet > 0)")
)
options = dict(columns=["MET_px", "MET_py", "Muon_pt", "mumu_mass", "has_jet"], target="has_jet",
               max_vec_sizes={"Muon_pt": 2}, normalize="standard", batch_size=64, drop_remainder=False, set_seed=7)
train, val = ROOT.ML.RDataLoader(df, **options).train_test_split(test_size=0.25)

# 2. Save each split: one epoch, as delivered (shuffled, normalised), written as an RNTuple.
started = time.perf_counter()
paths = {"train": train.save(output / "hzz_train.root", overwrite=True),
         "validation": val.save(output / "hzz_validation.root", overwrite=True)}
print(f"saved {', '.join(str(p) for p in paths.values())} in {time.perf_counter() - started:.1f} s")
record = rdataloader.saved_record(paths["train"])
print(f"the file keeps how to read it back: {record['loader_options']}")
print(f"and the normalisation it was saved with:\n{train.normalization}")

# 3. Read back unshuffled with the same batch size, the training file is the epoch that was saved: the first
#    epoch of a loader with the same options and seed.
reference_train, _ = ROOT.ML.RDataLoader(df, **options).train_test_split(test_size=0.25)
expected = [tuple(np.array(a) for a in batch) for batch in reference_train.as_numpy()]


def prepared(split: str, **overrides):
    saved = rdataloader.saved_record(paths[split])
    frame = ROOT.RDataFrame(saved["name"], str(paths[split]))
    return ROOT.ML.RDataLoader(frame, batch_size=64, drop_remainder=False, **saved["loader_options"], **overrides)


saved_batches = [tuple(np.array(a) for a in batch) for batch in prepared("train", shuffle=False).as_numpy()]
same = len(saved_batches) == len(expected) and all(
    all(np.array_equal(a, b) for a, b in zip(got, want)) for got, want in zip(saved_batches, expected)
)
print(f"the saved training file delivers the epoch it was written from: {same}")

# 4. Train from the prepared files: no Filter, no Define, no split left to compute; each epoch reshuffles.
train_ready, val_ready = prepared("train", set_seed=1), prepared("validation", shuffle=False)
features = len(train_ready.train_columns)
weights, bias = np.zeros(features), 0.0
for epoch in range(20):
    for x, y in train_ready.as_numpy():
        y = y.reshape(-1)
        p = 1 / (1 + np.exp(-(x @ weights + bias)))
        weights -= 0.1 * x.T @ (p - y) / len(y)
        bias -= 0.1 * float(np.mean(p - y))
correct = total = 0
for x, y in val_ready.as_numpy():
    correct += int(np.sum((x @ weights + bias > 0) == (y.reshape(-1) > 0.5)))
    total += len(y)
print(f"read paths of the prepared file: {sorted(set(train_ready.stats()['read_paths'].values()))}")
print(f"summary: same batches {same}, validation accuracy {correct / total:.3f} over {total} events")
if not same:
    raise SystemExit("the saved file does not reproduce the epoch it was written from")
