"""Kinematic reweighting: every class weighted to the same distribution of a variable it must not learn from.

The CMS H->ZZ candidates of the shared open-data file are split by whether the event has a jet. The events
with a jet have harder muons, so a classifier of "has a jet" learns the leading muon's pT. ``reweight=``
weighs every class to a flat distribution of that pT over its bins, counted on the training split in the
loader's first pass; the tutorial prints the table, then the weighted pT distribution of each class, before
and after, from the batches themselves.

    python tutorials/reweighting.py [--input uproot-HZZ.root]
"""

import argparse
from pathlib import Path

import numpy as np

import ROOT

SHARED_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "uproot-HZZ.root"
EDGES = [0, 30, 45, 60, 80, 120, 400]

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--input", type=Path, default=SHARED_FILE, help="a file with the TTree 'events' of uproot-HZZ.root")
args = parser.parse_args()

df = (
    ROOT.RDataFrame("events", str(args.input))
    .Filter("NMuon >= 1", "a muon")
    .Define("lead_mu_pt", "float(Max(sqrt(Muon_Px * Muon_Px + Muon_Py * Muon_Py)))")
    .Define("has_jet", "int(NJet > 0)")
)
common = dict(batch_size=128, columns=["lead_mu_pt", "MET_px", "MET_py", "has_jet"], target="has_jet",
              drop_remainder=False, set_seed=11)
loaders = {
    "before": ROOT.ML.RDataLoader(df, class_weights={0: 1.0, 1: 1.0}, **common),
    "after": ROOT.ML.RDataLoader(df, reweight={"columns": ["lead_mu_pt"], "bins": EDGES, "reference": "flat"}, **common),
}
print(loaders["after"].reweighting)


def shape(loader, cls):
    """The weighted share of each pT bin in one epoch of class `cls`, from the delivered batches."""
    pt, labels, weights = [], [], []
    for x, y, w in loader.as_numpy():
        pt.append(np.array(x)[:, 0]), labels.append(np.array(y).reshape(-1)), weights.append(np.array(w)[:, 0])
    pt, labels, weights = np.concatenate(pt), np.concatenate(labels), np.concatenate(weights)
    chosen = labels == cls
    histogram, _ = np.histogram(np.clip(pt[chosen], EDGES[0], EDGES[-1] - 1e-3), bins=EDGES, weights=weights[chosen])
    return histogram / histogram.sum()


print(f"{'pT bin [GeV]':>14} " + " ".join(f"{f'{lo}-{hi}':>8}" for lo, hi in zip(EDGES, EDGES[1:])))
spread = {}
for when, loader in loaders.items():
    shapes = [shape(loader, cls) for cls in (0, 1)]
    for cls, values in enumerate(shapes):
        print(f"{when + ', class ' + str(cls):>14} " + " ".join(f"{v:8.3f}" for v in values))
    spread[when] = float(np.max(np.abs(shapes[0] - shapes[1])))
print(f"summary: largest difference of the classes' pT shares {spread['before']:.3f} before, "
      f"{spread['after']:.3f} after reweighting")
