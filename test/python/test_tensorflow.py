"""TensorFlow/Keras output: an honest element_spec, no padding rows, model.fit over several epochs."""

from __future__ import annotations

import numpy as np
import pytest

import ROOT

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow


def make(path, **kwargs):
    kwargs.setdefault("batch_size", 64)
    return ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", path), set_seed=5, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(columns=["x", "y"]),
        dict(columns=["x", "y", "label"], target="label"),
        dict(columns=["x", "label", "y"], target="label", weights="y", dtypes={"label": "int32"}),
    ],
)
def test_tensorflow_values_and_spec_match_numpy(clustered_file, kwargs):
    reference = list(make(clustered_file, **kwargs).as_numpy())
    dataset = make(clustered_file, **kwargs).as_tensorflow()
    got = list(dataset.as_numpy_iterator())
    assert len(got) == len(reference) == int(dataset.cardinality())
    for ref, g in zip(reference, got):
        ref = ref if isinstance(ref, tuple) else (ref,)
        g = g if isinstance(g, tuple) else (g,)
        for r, v in zip(ref, g):
            assert v.dtype == r.dtype and np.array_equal(v, r)
    spec = dataset.element_spec
    spec = spec if isinstance(spec, tuple) else (spec,)
    assert all(s.shape[0] == 64 for s in spec)


def test_last_partial_batch_holds_only_real_entries(clustered_file):
    df = ROOT.RDataFrame("tree", clustered_file)
    loader = ROOT.ML.RDataLoader(df, batch_size=300, columns=["idx", "label"], target="label",
                                 drop_remainder=False, dtypes={"idx": "int64"}, set_seed=1)
    dataset = loader.as_tensorflow()
    assert dataset.element_spec[0].shape.as_list() == [None, 1]
    batches = list(dataset.as_numpy_iterator())
    assert [len(x) for x, _ in batches] == [300, 300, 300, 100]
    seen = np.concatenate([x[:, 0] for x, _ in batches])
    assert np.array_equal(np.sort(seen), np.arange(1000))


def test_keras_fit_trains_over_epochs_with_validation_and_weights(sorted_signal_background):
    keras = pytest.importorskip("keras")
    dfs = [ROOT.RDataFrame("tree", f).Define("w", "1.f").Define("f1", "(float)(label + 0.3 * (idx % 5))")
           for f in sorted_signal_background]
    loader = ROOT.ML.RDataLoader(dfs, batch_size=64, columns=["f1", "label", "w"], target="label", weights="w",
                                 set_seed=2)
    train, val = loader.train_test_split(0.25)
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy")
    history = model.fit(train.as_tensorflow(), validation_data=val.as_tensorflow(), epochs=3, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert history.history["val_loss"][-1] < history.history["val_loss"][0]
    assert train.stats()["complete"] and val.stats()["complete"]


def test_batches_cross_the_generator_groups_unchanged(clustered_file, monkeypatch):
    from rdataloader._connect import tensorflow as connect

    # 41 full batches in groups of 16, 16 and 9, then the last batch of 16 entries in a group of its own.
    monkeypatch.setattr(connect, "GROUP_BATCHES", 16)
    kwargs = dict(batch_size=24, columns=["idx", "label"], target="label", drop_remainder=False,
                  dtypes={"idx": "int64"})
    reference = list(make(clustered_file, **kwargs).as_numpy())
    got = list(make(clustered_file, **kwargs).as_tensorflow().as_numpy_iterator())
    assert [len(x) for x, _ in got] == [24] * 41 + [16] == [len(x) for x, _ in reference]
    assert all(np.array_equal(g[0], r[0]) and np.array_equal(g[1], r[1]) for g, r in zip(got, reference))


def test_a_group_holds_at_most_group_bytes(monkeypatch):
    from rdataloader._connect import tensorflow as connect

    monkeypatch.setattr(connect, "GROUP_BYTES", 3 * 64 * 4)
    batches = [np.full((64, 1), i, np.float32) for i in range(10)]
    groups = list(connect._groups(tf, batches))
    assert [len(g) for g in groups] == [3, 3, 3, 1]
    assert np.array_equal(np.concatenate(groups), np.stack(batches))
