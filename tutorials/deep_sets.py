"""Deep sets on a muon collection: ``ROOT.ML.RDataLoader`` with ``collections=``.

Writes a two-class dataset whose only information lies in a variable number of muons per event
(signal: more muons, harder and more central), lets ``rdataloader.suggest_max_len`` choose how many
muons to keep, streams them as a padded ``(batch, max_len, 3)`` tensor with a mask (or packed, with
offsets), and trains a permutation-invariant deep-sets classifier on them with PyTorch.

    python tutorials/deep_sets.py [--fast] [--layout padded|packed] [--entries N] [--epochs E]
"""

import argparse
import os
import tempfile

import rdataloader
import ROOT
import torch

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--fast", action="store_true", help="a small dataset and few epochs, for tests")
parser.add_argument("--layout", choices=["padded", "packed"], default="padded")
parser.add_argument("--entries", type=int, default=200_000)
parser.add_argument("--epochs", type=int, default=5)
args = parser.parse_args()
entries, epochs = (20_000, 4) if args.fast else (args.entries, args.epochs)
torch.manual_seed(1)

# 1. A dataset: per event 1 + Poisson muons with pt, eta and phi; label 1 events have more muons,
#    harder pt spectra and narrower eta. Muons are written in random order, not sorted by pt.
path = os.path.join(tempfile.mkdtemp(prefix="rdataloader-deep-sets-"), "muons.root")
ROOT.gRandom.SetSeed(7)
ROOT.RDataFrame(entries).Define("label", "int(gRandom->Rndm() < 0.5)") \
    .Define("nMuon", "1 + gRandom->Poisson(1.0 + 1.5 * label)") \
    .Define("Muon_pt", "ROOT::RVecF v(nMuon); for (auto &x : v) x = 5 + gRandom->Exp(15 + 25 * label); return v;") \
    .Define("Muon_eta", "ROOT::RVecF v(nMuon); for (auto &x : v) x = gRandom->Gaus(0, 2.0 - 1.1 * label); return v;") \
    .Define("Muon_phi", "ROOT::RVecF v(nMuon); for (auto &x : v) x = gRandom->Uniform(-M_PI, M_PI); return v;") \
    .Snapshot("events", path, ["label", "nMuon", "Muon_pt", "Muon_eta", "Muon_phi"])

# 2. The loader: the three muon columns form one collection, leading pt first; each batch is
#    (x, y) with x = {"muons": ..., "muons_mask": ...} (or "muons_offsets" when packed).
df = ROOT.RDataFrame("events", path)
max_len = rdataloader.suggest_max_len(df, {"muons": "Muon_pt"}, quantile=0.99)["muons"]
loader = ROOT.ML.RDataLoader(df, batch_size=256, columns=["label"], target="label", set_seed=42,
                             collections={"muons": (["Muon_pt", "Muon_eta", "Muon_phi"], max_len)},
                             collections_layout=args.layout, sort_by={"muons": "Muon_pt"})
train, val = loader.train_test_split(test_size=0.25)
print(f"max_len={max_len} (99% of the events keep all their muons); {train}")


# 3. Deep sets: phi embeds each muon, a masked mean pools them (padding contributes nothing), and rho
#    classifies the pooled embedding together with the muon count.
class DeepSets(torch.nn.Module):
    def __init__(self, fields: int, hidden: int = 32):
        super().__init__()
        self.phi = torch.nn.Sequential(torch.nn.Linear(fields, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.ReLU())
        self.rho = torch.nn.Sequential(torch.nn.Linear(hidden + 1, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))
        # pt in units of 50 GeV; eta and phi are of order one already.
        self.register_buffer("scale", torch.tensor([1 / 50, 1.0, 1.0]))

    def forward(self, x: dict) -> torch.Tensor:
        embedded = self.phi(x["muons"] * self.scale)
        if "muons_mask" in x:  # padded: (batch, max_len, hidden), masked sum over the muons
            mask = x["muons_mask"].unsqueeze(-1)
            counts = x["muons_mask"].sum(dim=1, keepdim=True).float()
            pooled = (embedded * mask).sum(dim=1)
        else:  # packed: (muons, hidden), summed into the event each muon belongs to
            counts = x["muons_offsets"].diff().unsqueeze(1).float()
            event = torch.repeat_interleave(torch.arange(len(counts)), counts.squeeze(1).long())
            pooled = torch.zeros(len(counts), embedded.shape[1]).index_add_(0, event, embedded)
        pooled = pooled / counts.clamp(min=1)
        return self.rho(torch.cat([pooled, counts.log1p()], dim=1)).squeeze(1)


model = DeepSets(fields=3)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
loss_fn = torch.nn.BCEWithLogitsLoss()
for epoch in range(epochs):
    model.train()
    for x, y in train.as_torch():
        optimizer.zero_grad()
        loss_fn(model(x), y.squeeze(1)).backward()
        optimizer.step()
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in val.as_torch():
            correct += ((model(x) > 0).float() == y.squeeze(1)).sum().item()
            total += len(y)
    print(f"epoch {epoch + 1}: validation accuracy {correct / total:.3f}; "
          f"muons beyond max_len this epoch: {train.stats()['truncated_objects']['muons']}")

accuracy = correct / total
# The label is visible only through the muons: a loader that mixed up entries, objects or masks
# leaves the classifier near 0.5.
assert accuracy > 0.8, f"validation accuracy {accuracy:.3f} is too low"
print(f"summary: {args.layout} layout, {entries} events, {epochs} epochs, validation accuracy {accuracy:.3f}")
