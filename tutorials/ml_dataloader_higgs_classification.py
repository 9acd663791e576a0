"""H -> ZZ* -> 4l classification from scalar and vector columns, with PyTorch.

Port of ROOT's ``tutorials/machine_learning/ml_dataloader_Higgs_Classification.py`` (written for
``ROOT.Experimental.ML.RDataLoader``) to ``ROOT.ML.RDataLoader``. The events follow the
four-lepton selection of ``df106_HiggsToFourLeptons``: the invariant mass ``m4l`` and, per lepton,
energy, eta, phi, pT and flavour as vector columns of four elements. Training, validation and test
events come in three files; the loader standardises the inputs, element by element, with the means
and standard deviations of the training file.

    python ml_dataloader_higgs_classification.py [--input DIR_WITH_THE_THREE_FILES] [--fast] [--output-dir DIR]
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

import ROOT

import tutorial_helpers as helpers

args = helpers.arguments(__doc__, "ml_dataloader_Higgs_Classification")
torch.manual_seed(42)

BATCH_SIZE = 250 if args.fast else 1000
MAX_EPOCHS = 12 if args.fast else 200
VECTORS = ["good_lep", "goodlep_E", "goodlep_eta", "goodlep_phi", "goodlep_pt", "goodlep_type"]
MAX_VEC_SIZES = {name: 4 for name in VECTORS}
TARGET = "isHiggsRef"

df_train, df_val, df_test = (
    ROOT.RDataFrame("tree", f"{args.input}/ml_dataloader_Higgs_Classification_{split}.root")
    for split in ("train", "val", "test")
)
# The original redefines every column with RDataFrame to standardise it; here the training loader
# fits the means and standard deviations of all 25 features (vector elements included, padding left
# out) in one pass, and the other two apply exactly the same scaling.
options = dict(batch_size=BATCH_SIZE, batches_in_memory=1000, columns=["m4l", *VECTORS, TARGET], target=TARGET,
               max_vec_sizes=MAX_VEC_SIZES, set_seed=42)
train = ROOT.ML.RDataLoader(df_train, normalize="standard", **options)
val, test = (ROOT.ML.RDataLoader(df, normalize=train.normalization, **options) for df in (df_val, df_test))
# Each vector column gives max_vec_sizes features (good_lep_0 ... good_lep_3): 25 in all. Vectors
# longer than that (good_lep can list a fifth, rejected lepton) are truncated.
num_features = len(train.train_columns)
print(train, val, test, sep="\n")
print(train.normalization)


class Classifier(torch.nn.Module):
    """Dense layers with batch normalisation and ReLU, and a sigmoid output."""

    def __init__(self, num_features, hidden_layers):
        super().__init__()
        layers, width = [], num_features
        for out in hidden_layers:
            layers += [torch.nn.Linear(width, out), torch.nn.BatchNorm1d(out), torch.nn.ReLU()]
            width = out
        self.body = torch.nn.Sequential(*layers, torch.nn.Linear(width, 1))

    def forward(self, x):
        return torch.sigmoid(self.body(x))


model = Classifier(num_features, [60, 60])
loss_fn = torch.nn.BCELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)  # the original's SGD needs many more epochs


def evaluate(loader):
    """Mean loss, accuracy, outputs and labels over one epoch of ``loader``."""
    model.eval()
    losses, outputs, labels = [], [], []
    with torch.no_grad():
        for x, y in loader.as_torch():
            prediction = model(x)
            losses.append(loss_fn(prediction, y).item())
            outputs.append(prediction.numpy().ravel())
            labels.append(y.numpy().ravel())
    outputs, labels = np.concatenate(outputs), np.concatenate(labels)
    return np.mean(losses), np.mean((outputs > 0.5) == labels), outputs, labels


# Early stopping as in the original: stop when the last three validation losses are all worse
# than the best of the three before them.
val_losses = []
for epoch in range(MAX_EPOCHS):
    model.train()
    for x, y in train.as_torch():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    val_loss, val_accuracy, _, _ = evaluate(val)
    val_losses.append(val_loss)
    print(f"epoch {epoch + 1}: validation loss {val_loss:.4f}, accuracy {val_accuracy:.4f}")
    if len(val_losses) >= 6 and min(val_losses[-3:]) > max(val_losses[-6:-3]):
        print("validation loss no longer improves: early stop")
        break

test_loss, test_accuracy, outputs, labels = evaluate(test)
auc = helpers.roc_auc(outputs, labels)
print(f"test loss {test_loss:.4f}, accuracy {test_accuracy:.4f}, ROC AUC {auc:.4f}")

fig, ax = plt.subplots()
ax.plot(range(1, len(val_losses) + 1), val_losses)
ax.set(xlabel="epoch", ylabel="validation loss", title="Loss curve")
fig.savefig(args.output_dir / "loss_curve.png")
helpers.plot_classifiers(args.output_dir / "ROC_curve.png", {"PyTorch": (outputs, labels, None)})

print(f"result: test ROC AUC = {auc:.4f}")
assert auc > 0.9, "m4l alone separates the narrow Higgs peak from the ZZ continuum"
