"""Batches of a ROOT dataset as NumPy arrays.

Port of ROOT's ``tutorials/machine_learning/ml_dataloader_NumPy.py`` (written for
``ROOT.Experimental.ML.RDataLoader``) to ``ROOT.ML.RDataLoader``. The original reads the signal
tree alone, whose target ``Type`` is always 1; here the signal and background trees form one
dataset, shuffled together, and the loop checks that every batch mixes the two.

    python ml_dataloader_numpy.py [--input Higgs_data.root] [--fast] [--output-dir DIR]
"""

import matplotlib.pyplot as plt
import numpy as np

import ROOT

import tutorial_helpers as helpers

args = helpers.arguments(__doc__, "Higgs_data.root")

BATCH_SIZE = 128
NUM_EPOCHS = 2

# Two dataframes, one dataset: the loader reads both and shuffles their entries together. Every
# column is loaded; "Type" (1 for signal, 0 for background) is the target.
dataframes = [ROOT.RDataFrame(tree, args.input) for tree in ("sig_tree", "bkg_tree")]
loader = ROOT.ML.RDataLoader(dataframes, BATCH_SIZE, target="Type", shuffle=True, drop_remainder=True, set_seed=7)
train, validation = loader.train_test_split(test_size=0.3)
print(f"{len(train.train_columns)} features: {', '.join(train.train_columns)}")
print(train, validation, sep="\n")

for epoch in range(NUM_EPOCHS):
    # Each iteration of as_numpy() is one epoch, reshuffled; x is (batch, features), y (batch, 1).
    signal_fractions = []
    for i, (x_train, y_train) in enumerate(train.as_numpy()):
        if i < 2:
            print(f"training batch {i + 1} => x: {x_train.shape}, y: {y_train.shape}")
        signal_fractions.append(y_train.mean())
    n_validation = sum(len(y) for _, y in validation.as_numpy())
    stats = train.stats()
    print(f"epoch {epoch + 1}: {len(signal_fractions)} training batches ({stats['entries']} entries in "
          f"{stats['seconds']:.2f} s), {n_validation} validation entries; signal fraction per batch "
          f"{np.mean(signal_fractions):.3f} +- {np.std(signal_fractions):.3f}")

# How well the two trees are mixed: the spread of the signal fraction across batches, relative to
# that of perfectly shuffled batches (about 1; sqrt(batch size) if each batch held one tree).
mix = stats["label_mix_r"]
expected_spread = np.sqrt(0.25 / BATCH_SIZE)
fig, ax = plt.subplots()
ax.hist(signal_fractions, bins=20, label="training batches, last epoch")
ax.axvline(0.5 - expected_spread, color="k", linestyle=":", label="perfect shuffle: 0.5 +- 1 sigma")
ax.axvline(0.5 + expected_spread, color="k", linestyle=":")
ax.set(xlabel="signal fraction in a batch", ylabel="batches", title=f"Label mixing: r = {mix:.2f}")
ax.legend()
fig.savefig(args.output_dir / "ml_dataloader_numpy.png")

print(f"result: label mixing r = {mix:.3f}")
assert stats["complete"] and stats["entries"] == train.num_batches * BATCH_SIZE
assert 0.5 < mix < 2, "batches should mix signal and background like a random shuffle"
