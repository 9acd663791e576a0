"""Quickstart: stream a ROOT file into PyTorch with ``ROOT.ML.RDataLoader``.

Writes a small two-class dataset with RDataFrame, streams one shuffled epoch through the loader,
trains a tiny classifier on it, and prints the throughput and a one-line summary.

    python tutorials/quickstart.py [--entries N] [--epochs E]
"""

import argparse
import os
import tempfile
import time

import ROOT
import torch

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--entries", type=int, default=200_000)
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()

# 1. A dataset: label 1 events have shifted features. Any TTree or RNTuple works the same way.
path = os.path.join(tempfile.mkdtemp(prefix="rdataloader-quickstart-"), "events.root")
ROOT.RDataFrame(args.entries).Define("label", "int(rdfentry_ % 2)") \
    .Define("pt", "float(gRandom->Exp(20) + 15 * label)") \
    .Define("eta", "float(gRandom->Gaus(0, 1.5 - 0.5 * label))") \
    .Define("mass", "float(gRandom->Gaus(80 + 10 * label, 15))") \
    .Snapshot("events", path, ["pt", "eta", "mass", "label"])

# 2. The loader: Filters and Defines are honoured; the split is by entry, fixed and disjoint.
df = ROOT.RDataFrame("events", path).Filter("pt > 5")
loader = ROOT.ML.RDataLoader(df, batch_size=512, target="label", set_seed=42)
train, val = loader.train_test_split(test_size=0.2)
print(train)

# 3. One epoch on its own, to see what the loader costs (the first one includes compiling the
#    C++ reading loop for these column types, once per process).
start = time.perf_counter()
entries = sum(len(x) for x, _ in train.as_numpy())
seconds = time.perf_counter() - start
print(f"streamed {entries} entries in {seconds:.2f} s: {entries / seconds:,.0f} entries/s; {train.stats()}")

# 4. Training: every pass over train.as_torch() is a new, reshuffled epoch.
model = torch.nn.Sequential(torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
loss_fn = torch.nn.BCEWithLogitsLoss()
for epoch in range(args.epochs):
    model.train()
    for x, y in train.as_torch():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        correct = total = 0
        for x, y in val.as_torch():
            correct += ((model(x) > 0).float() == y).sum().item()
            total += len(y)
    print(f"epoch {epoch + 1}: validation accuracy {correct / total:.3f}")

print(f"summary: {entries} entries/epoch at {entries / seconds:,.0f} entries/s, "
      f"final validation accuracy {correct / total:.3f}")
