"""Shuffle quality on the usual sorted layout (a signal file, then a background file), measured
with the loader's own label-mix statistic R (about 1 for a perfect shuffle)."""

from __future__ import annotations

import numpy as np

import ROOT


def label_mix(sorted_signal_background, **kwargs):
    dfs = [ROOT.RDataFrame("tree", f) for f in sorted_signal_background]
    loader = ROOT.ML.RDataLoader(dfs, batch_size=64, columns=["x", "label"], target="label", set_seed=9, **kwargs)
    labels = [y[:, 0] for _, y in loader.as_numpy()]
    return loader.stats(), np.array([l.mean() for l in labels])


def test_default_window_mixes_sorted_files(sorted_signal_background):
    stats, means = label_mix(sorted_signal_background)
    assert stats["label_mix_r"] < 1.5
    assert not np.any((means == 0) | (means == 1))


def test_label_mix_statistic_exposes_a_window_too_small_for_sorted_data(sorted_signal_background):
    stats, means = label_mix(sorted_signal_background, batches_in_memory=1)
    assert stats["label_mix_r"] > 4
    assert np.mean((means == 0) | (means == 1)) > 0.5


def test_load_eager_is_a_full_permutation(sorted_signal_background):
    stats, _ = label_mix(sorted_signal_background, load_eager=True, batches_in_memory=1)
    assert stats["label_mix_r"] < 1.5


def test_epoch_statistics_are_reported(sorted_signal_background):
    stats, _ = label_mix(sorted_signal_background)
    assert stats["entries"] == 4000 // 64 * 64 and stats["batches"] == 4000 // 64 and stats["complete"]
    assert stats["bytes_read"] > 0
    assert 0 <= stats["seconds_waiting"] <= stats["seconds"]
    assert stats["seconds_to_first_batch"] <= stats["seconds"]
