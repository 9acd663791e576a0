"""Batches of a ROOT dataset in a basic TensorFlow/Keras workflow.

Port of ROOT's ``tutorials/machine_learning/ml_dataloader_TensorFlow.py`` (written for
``ROOT.Experimental.ML.RDataLoader``) to ``ROOT.ML.RDataLoader``. The original has to
``repeat()`` its datasets once per epoch and pass ``steps_per_epoch`` and ``validation_steps``;
here every iteration of ``as_tensorflow()`` is a fresh, reshuffled epoch of known length, so
``model.fit`` takes the datasets as they are. Signal and background trees are both read.

    python ml_dataloader_tensorflow.py [--input Higgs_data.root] [--fast] [--output-dir DIR]
"""

import matplotlib.pyplot as plt

import ROOT  # before TensorFlow, as ROOT's own TensorFlow tutorial advises

import keras

import tutorial_helpers as helpers

args = helpers.arguments(__doc__, "Higgs_data.root")
keras.utils.set_random_seed(1)

BATCH_SIZE = 128
# The shuffle window, in batches. To mix the two trees it must be larger than their clusters: the
# original's 50 batches (6400 entries) are smaller than a cluster of ROOT's Higgs_data.root (one of
# 10000 entries per tree), and then half of the training batches hold a single class.
BATCHES_IN_MEMORY = 200
NUM_EPOCHS = 2 if args.fast else 12

dataframes = [ROOT.RDataFrame(tree, args.input) for tree in ("sig_tree", "bkg_tree")]
loader = ROOT.ML.RDataLoader(dataframes, BATCH_SIZE, BATCHES_IN_MEMORY, target=["Type"], shuffle=True,
                             drop_remainder=True, set_seed=7)
ds_train, ds_validation = loader.train_test_split(test_size=0.3)
num_features = len(ds_train.train_columns)

# Decorrelated, unit-variance inputs from the training split (the original feeds raw columns).
shift, matrix = helpers.feature_statistics(ds_train.as_numpy()).transform("D")
model = keras.Sequential([
    keras.Input(shape=(num_features,)),
    helpers.keras_affine(shift, matrix, name="var_transform"),
    keras.layers.Dense(300, activation="tanh"),
    keras.layers.Dense(300, activation="tanh"),
    keras.layers.Dense(300, activation="tanh"),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])

history = model.fit(
    ds_train.as_tensorflow(),
    validation_data=ds_validation.as_tensorflow(),
    epochs=NUM_EPOCHS,
    shuffle=False,  # the loader shuffles
    verbose=2,
)

fig, ax = plt.subplots()
for key in ("accuracy", "val_accuracy"):
    ax.plot(range(1, NUM_EPOCHS + 1), history.history[key], marker="o", label=key)
ax.set(xlabel="epoch", ylabel="accuracy", title="ml_dataloader_tensorflow")
ax.legend()
fig.savefig(args.output_dir / "ml_dataloader_tensorflow.png")

# How well the training batches mixed the trees: about 1 for a perfect shuffle, sqrt(128) = 11 if
# every batch held a single tree.
print(f"label mixing of the last training epoch: r = {ds_train.stats()['label_mix_r']:.2f}")
accuracy = history.history["val_accuracy"][-1]
print(f"result: validation accuracy = {accuracy:.4f}")
assert accuracy > 0.58, "signal and background differ; guessing gives 0.50 +- 0.01"
