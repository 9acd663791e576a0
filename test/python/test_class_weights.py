"""Class weights: balanced from the training split's class counts, combined with event weights."""

from __future__ import annotations

import numpy as np
import pytest

import ROOT


@pytest.fixture
def imbalanced():
    """1:20 imbalance, with an event weight of 0.5 or 2."""
    return (ROOT.RDataFrame(2100).Define("label", "(int)(rdfentry_ % 21 == 0)")
            .Define("x", "(float)rdfentry_").Define("ew", "rdfentry_ % 2 ? 2.f : 0.5f"))


def test_balanced_weights_equalise_the_classes(imbalanced):
    # Every training entry is delivered (no dropped remainder), so the split's class counts are known from the
    # entries' x by the generation rule (label = x % 21 == 0), independently of the loader's labels and weights.
    train, _ = ROOT.ML.RDataLoader(imbalanced, batch_size=100, columns=["x", "label"], target="label",
                                   class_weights="balanced", set_seed=3, drop_remainder=False).train_test_split(0.2)
    xs, labels, weights = [], [], []
    for x, y, w in train.as_numpy():
        xs.append(x[:, 0].copy())
        labels.append(y[:, 0].copy())
        weights.append(w[:, 0].copy())
    xs, labels, weights = np.concatenate(xs), np.concatenate(labels), np.concatenate(weights)
    n = 2100 - round(0.2 * 2100)  # the training split: all but round(test_size * N) entries
    assert len(xs) == n and len(np.unique(xs)) == n
    is_one = xs.astype(np.int64) % 21 == 0
    assert np.array_equal(labels, is_one.astype(labels.dtype))
    n_one = int(is_one.sum())
    # "balanced": n / (classes x n_class), counted on the training split.
    expected = {0: n / (2 * (n - n_one)), 1: n / (2 * n_one)}
    assert train.class_weights == pytest.approx(expected)
    assert np.array_equal(weights, np.where(is_one, expected[1], expected[0]).astype(np.float32))
    # Each class then weighs n / 2 in all.
    assert weights[is_one].sum() == pytest.approx(n / 2, rel=1e-6)
    assert weights[~is_one].sum() == pytest.approx(n / 2, rel=1e-6)


def test_class_weights_multiply_event_weights(imbalanced):
    loader = ROOT.ML.RDataLoader(imbalanced, batch_size=2100, columns=["x", "label", "ew"], target="label",
                                 weights="ew", class_weights={0: 1.0, 1: 10.0}, shuffle=False, drop_remainder=False)
    x, y, w = next(iter(loader.as_numpy()))
    expected = np.where(y[:, 0] == 1, 10.0, 1.0) * np.where(x[:, 0] % 2 == 1, 2.0, 0.5)
    assert np.array_equal(w[:, 0], expected.astype(np.float32))


def test_a_class_without_a_weight_raises(imbalanced):
    loader = ROOT.ML.RDataLoader(imbalanced, batch_size=10, columns=["x", "label"], target="label",
                                 class_weights={0: 1.0})
    with pytest.raises(ValueError, match=r"no weight to class 1, present in the data.*\{1: 1.0\}"):
        loader.num_batches


def test_bad_class_weight_requests(imbalanced):
    with pytest.raises(ValueError, match="exactly one scalar target"):
        ROOT.ML.RDataLoader(imbalanced, columns=["x", "label"], class_weights="balanced")
    with pytest.raises(ValueError, match="'balanced' or a dict"):
        ROOT.ML.RDataLoader(imbalanced, columns=["x", "label"], target="label", class_weights="inverse")
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="weight of class 0 must be a finite non-negative number"):
            ROOT.ML.RDataLoader(imbalanced, columns=["x", "label"], target="label", class_weights={0: bad, 1: 1.0})
    fractional = imbalanced.Define("half", "0.5f * label")
    with pytest.raises(ValueError, match="whole-number labels"):
        ROOT.ML.RDataLoader(fractional, columns=["x", "half"], target="half", class_weights="balanced").num_batches


def test_balanced_weights_of_an_empty_training_split_are_refused_with_the_way_out(imbalanced):
    empty = imbalanced.Filter("x < 0")
    with pytest.raises(ValueError, match="balanced class weights weigh the classes of the training split, which has no entries"):
        ROOT.ML.RDataLoader(empty, columns=["x", "label"], target="label", class_weights="balanced").num_batches
    # Given weights need no counts: the epochs are empty, as for any empty dataset.
    with pytest.warns(UserWarning, match="no entries"):
        given = ROOT.ML.RDataLoader(empty, columns=["x", "label"], target="label", class_weights={0: 1.0, 1: 2.0})
        assert list(given.as_numpy()) == []
