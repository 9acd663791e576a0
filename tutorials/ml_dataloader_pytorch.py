"""Batches of a ROOT dataset in a basic PyTorch training loop.

Port of ROOT's ``tutorials/machine_learning/ml_dataloader_PyTorch.py`` (written for
``ROOT.Experimental.ML.RDataLoader``) to ``ROOT.ML.RDataLoader``. As in the original, a three-layer
tanh network learns ``Type`` from every other column; unlike it, signal and background trees are
both read, so that there is something to learn.

    python ml_dataloader_pytorch.py [--input Higgs_data.root] [--fast] [--output-dir DIR]
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

import ROOT

import tutorial_helpers as helpers

args = helpers.arguments(__doc__, "Higgs_data.root")
torch.manual_seed(1)

BATCH_SIZE = 128
NUM_EPOCHS = 2 if args.fast else 12

dataframes = [ROOT.RDataFrame(tree, args.input) for tree in ("sig_tree", "bkg_tree")]
loader = ROOT.ML.RDataLoader(dataframes, BATCH_SIZE, target="Type", shuffle=True, drop_remainder=True, set_seed=7)
train, validation = loader.train_test_split(test_size=0.3)
num_features = len(train.train_columns)  # every column but the target

# The original feeds the raw columns; decorrelated, unit-variance inputs (computed on the training
# split, applied by a fixed first layer) let the tanh network learn much faster.
shift, matrix = helpers.feature_statistics(train.as_numpy()).transform("D")
model = torch.nn.Sequential(
    helpers.torch_affine(shift, matrix),
    torch.nn.Linear(num_features, 300),
    torch.nn.Tanh(),
    torch.nn.Linear(300, 300),
    torch.nn.Tanh(),
    torch.nn.Linear(300, 300),
    torch.nn.Tanh(),
    torch.nn.Linear(300, 1),
    torch.nn.Sigmoid(),
)
# The original's mean squared error and plain SGD learn slowly; the binary cross entropy and Adam
# are the usual choice for a classifier.
loss_fn = torch.nn.BCELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)


def correct(prediction, target):
    return (prediction.round() == target).sum().item()


validation_accuracies = []
for epoch in range(NUM_EPOCHS):
    model.train()
    for i, (x_train, y_train) in enumerate(train.as_torch()):  # tensors sharing the batch memory
        prediction = model(x_train)
        loss = loss_fn(prediction, y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i % 20 == 0:
            batch_accuracy = correct(prediction, y_train) / len(y_train)
            print(f"epoch {epoch + 1}, batch {i + 1}: training accuracy {batch_accuracy:.3f}")

    model.eval()
    with torch.no_grad():
        n_correct, n_total = np.sum([(correct(model(x), y), len(y)) for x, y in validation.as_torch()], axis=0)
    validation_accuracies.append(n_correct / n_total)
    print(f"epoch {epoch + 1}: validation accuracy {validation_accuracies[-1]:.3f}")

fig, ax = plt.subplots()
ax.plot(range(1, NUM_EPOCHS + 1), validation_accuracies, marker="o")
ax.set(xlabel="epoch", ylabel="validation accuracy", title="ml_dataloader_pytorch")
fig.savefig(args.output_dir / "ml_dataloader_pytorch.png")

print(f"result: validation accuracy = {validation_accuracies[-1]:.4f}")
assert validation_accuracies[-1] > 0.58, "signal and background differ; guessing gives 0.50 +- 0.01"
