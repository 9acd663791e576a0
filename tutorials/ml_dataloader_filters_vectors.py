"""Filters and vector columns with the ROOT ML data loader.

Port of ROOT's ``tutorials/machine_learning/ml_dataloader_filters_vectors.py`` (written for
``ROOT.Experimental.ML.RDataLoader``) to ``ROOT.ML.RDataLoader``: the loader reads only the
entries that pass the dataframe's filters, and flattens each vector column into a fixed number of
features, padding short vectors and truncating long ones. The tutorial then checks every row it
received against the same entries read by ``RDataFrame.AsNumpy``.

    python ml_dataloader_filters_vectors.py [--input ml_dataloader_filters_vectors_hvector.root]
                                            [--fast] [--output-dir DIR]
"""

import matplotlib.pyplot as plt
import numpy as np

import ROOT

import tutorial_helpers as helpers

args = helpers.arguments(__doc__, "ml_dataloader_filters_vectors_hvector.root")

BATCH_SIZE = 5
MAX_VEC_SIZES = {"f4": 3, "f5": 2, "f6": 1}  # features per vector column
VEC_PADDING = -1  # fills the missing elements of shorter vectors (default 0)

df = ROOT.RDataFrame("test_tree", args.input)
filtered = df.Filter("f1 > 30", "first_filter").Filter("f2 < 70", "second_filter").Filter("f3 == true", "third_filter")

loader = ROOT.ML.RDataLoader(filtered, BATCH_SIZE, max_vec_sizes=MAX_VEC_SIZES, vec_padding=VEC_PADDING,
                             shuffle=False, drop_remainder=False)
ds_train, ds_validation = loader.train_test_split(test_size=0.3)
print(f"columns: {ds_train.columns}")  # f4 becomes f4_0, f4_1, f4_2, ...

rows = []
for name, split in (("training", ds_train), ("validation", ds_validation)):
    for i, batch in enumerate(split.as_numpy()):
        print(f"{name} batch {i} => {batch.shape}")
        rows.append(batch)  # each batch owns its memory: arrays stay valid
received = np.concatenate(rows)

# The same entries, read by RDataFrame, flattened as the loader does it.
columns = filtered.AsNumpy(["f1", "f2", "f3", *MAX_VEC_SIZES])
filtered.Report().Print()


def flatten(vector, size):
    values = np.full(size, VEC_PADDING, dtype=np.float32)
    values[:min(size, len(vector))] = np.asarray(vector, dtype=np.float32)[:size]
    return values


expected = np.array([
    np.concatenate([[columns["f1"][i], columns["f2"][i], columns["f3"][i]],
                    *(flatten(columns[name][i], size) for name, size in MAX_VEC_SIZES.items())])
    for i in range(len(columns["f1"]))
], dtype=np.float32)
# The split is by entry, so compare the rows as sets: sort both by f1, unique per entry.
received = received[np.argsort(received[:, 0])]
matches = received.shape == expected.shape and np.array_equal(received, expected)

fig, ax = plt.subplots(figsize=(8, 4))
ax.imshow(received, aspect="auto", cmap="viridis")
ax.set(xticks=range(len(ds_train.columns)), yticks=[], xlabel="feature", ylabel="entry",
       title=f"{len(received)} entries passing the filters (padding = {VEC_PADDING})")
ax.set_xticklabels(ds_train.columns, rotation=45)
fig.tight_layout()
fig.savefig(args.output_dir / "ml_dataloader_filters_vectors.png")

print(f"result: entries received = {len(received)} of {len(expected)} passing the filters, identical: {matches}")
assert matches, "the loader should deliver exactly the filtered entries, padded and truncated"
