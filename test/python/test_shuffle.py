"""Shuffle quality on the usual sorted layout (a signal file, then a background file), measured
with the loader's own label-mix statistic R (about 1 for a perfect shuffle)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ROOT

from conftest import epoch_indices, write_tree


def label_mix(sorted_signal_background, **kwargs):
    dfs = [ROOT.RDataFrame("tree", f) for f in sorted_signal_background]
    loader = ROOT.ML.RDataLoader(dfs, batch_size=64, columns=["x", "label"], target="label", set_seed=9, **kwargs)
    labels = [y[:, 0] for _, y in loader.as_numpy()]
    return loader.stats(), np.array([l.mean() for l in labels])


def test_default_window_mixes_sorted_files(sorted_signal_background):
    stats, means = label_mix(sorted_signal_background)
    assert stats["label_mix_r"] < 1.5
    assert not np.any((means == 0) | (means == 1))


@pytest.mark.parametrize("batches_in_memory", [1, 10])
def test_a_small_window_mixes_sorted_files_read_as_streams(sorted_signal_background, batches_in_memory):
    """Each window fills from several streams spread over both files, so even one batch mixes them."""
    stats, means = label_mix(sorted_signal_background, batches_in_memory=batches_in_memory)
    assert stats["streams"] >= 2
    assert stats["label_mix_r"] < 1.5
    assert not np.any((means == 0) | (means == 1))


@pytest.mark.parametrize("rntuple", [False, True], ids=["ttree", "rntuple"])
def test_a_small_window_mixes_a_sorted_file_of_one_cluster(data_dir, rntuple):
    """A file of one cluster (an RNTuple Snapshot smaller than its cluster size, as most are) is cut into
    streams too: read as one, every window would hold one stretch of it, one class."""
    path = str(data_dir / f"one_cluster_sorted_{'rntuple' if rntuple else 'ttree'}.root")
    options = ROOT.RDF.RSnapshotOptions()
    if rntuple:
        options.fOutputFormat = ROOT.RDF.ESnapshotOutputFormat.kRNTuple
    ROOT.RDataFrame(4000).Define("label", "(int)(rdfentry_ < 2000)").Define("x", "(float)rdfentry_") \
        .Snapshot("tree", path, ["label", "x"], options)
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", path), batch_size=64, batches_in_memory=1,
                                 columns=["x", "label"], target="label", set_seed=9)
    assert ROOT.RDataFrame("tree", path).Count().GetValue() == 4000
    means = np.array([y.mean() for _, y in loader.as_numpy()])
    stats = loader.stats()
    assert stats["streams"] >= 2 and stats["label_mix_r"] < 1.5, stats
    assert not np.any((means == 0) | (means == 1))


@pytest.mark.parametrize("fmt", ["ttree", "rntuple"])
def test_the_validation_split_of_a_file_of_one_cluster_is_drawn_from_all_over_it(data_dir, fmt):
    # A file sorted by x, written as one cluster: validating on its last quarter would validate on the
    # largest x only.
    path = write_tree(data_dir / "one_cluster_split.root", 4000, cluster=4000)
    if fmt == "rntuple":
        rntuple = str(data_dir / "one_cluster_split_rntuple.root")
        options = ROOT.RDF.RSnapshotOptions()
        options.fOutputFormat = ROOT.RDF.ESnapshotOutputFormat.kRNTuple
        ROOT.RDataFrame("tree", path).Snapshot("tree", rntuple, ["idx", "label", "x", "y"], options)
        path = rntuple
    for seed in range(5):
        train, validation = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", path), batch_size=100, columns=["idx", "x"],
                                                set_seed=seed, drop_remainder=False).train_test_split(0.25)
        seen = epoch_indices(validation.as_numpy())
        assert len(seen) == 1000 and len(np.intersect1d(seen, epoch_indices(train.as_numpy()))) == 0
        # Parts of the cluster from both halves of the file, and a new draw for every seed.
        assert np.any(seen < 2000) and np.any(seen >= 2000), (seed, np.sort(seen)[[0, -1]])
        assert seed == 0 or not np.array_equal(np.sort(seen), first)
        first = np.sort(seen) if seed == 0 else first


@pytest.mark.parametrize("cluster", [100, 10_000], ids=["many-clusters", "one-cluster"])
def test_a_split_that_nothing_passes_is_one_empty_stream(data_dir, cluster):
    """Streams are counted from a split's windows, none when nothing passes its filter: the epoch must still
    be read as one (empty) stream. Zero streams divided the reading threads by zero (SIGFPE)."""
    path = write_tree(data_dir / f"nothing_passes_{cluster}.root", 4000, cluster=cluster)
    df = ROOT.RDataFrame("tree", path).Filter("x < 0")
    with pytest.warns(UserWarning, match="no entries"):
        train, validation = ROOT.ML.RDataLoader(df, batch_size=64, columns=["x", "label"], target="label",
                                                set_seed=9, batches_in_memory=1).train_test_split(0.3)
    for split in (train, validation):
        assert list(split.as_numpy()) == [] and split.num_batches == 0
        assert split.stats()["streams"] == 1


def test_load_eager_is_a_full_permutation(sorted_signal_background):
    stats, _ = label_mix(sorted_signal_background, load_eager=True, batches_in_memory=1)
    assert stats["label_mix_r"] < 1.5


def test_epoch_statistics_are_reported(sorted_signal_background):
    stats, _ = label_mix(sorted_signal_background)
    assert stats["entries"] == 4000 // 64 * 64 and stats["batches"] == 4000 // 64 and stats["complete"]
    assert stats["bytes_read"] > 0
    assert 0 <= stats["seconds_waiting"] <= stats["seconds"]
    assert stats["seconds_to_first_batch"] <= stats["seconds"]


def test_a_window_that_cannot_mix_is_reported_once_with_the_remedy(data_dir):
    # Signal then background, with a Define: its event loop reads the file as one stretch, so a window of one
    # batch is one class.
    sorted_file = str(data_dir / "sorted_for_the_event_loop.root")
    ROOT.RDataFrame(4000).Define("label", "(int)(rdfentry_ < 2000)").Define("x", "(float)rdfentry_") \
        .Snapshot("tree", sorted_file, ["label", "x"])
    df = ROOT.RDataFrame("tree", sorted_file).Define("twice_x", "2 * x")
    loader = ROOT.ML.RDataLoader(df, batch_size=64, batches_in_memory=1, columns=["twice_x", "label"],
                                 target="label", set_seed=9)
    with pytest.warns(RuntimeWarning, match=r"mixed the classes poorly \(label-mix R = \d+\.\d.*shuffle='global'"):
        list(loader.as_numpy())
    assert loader.stats()["label_mix_r"] > 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(loader.as_numpy())


def test_a_well_mixed_epoch_is_not_reported(sorted_signal_background):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats, _ = label_mix(sorted_signal_background)
    assert stats["label_mix_r"] < 1.5


def test_batches_that_follow_a_sorted_feature_are_reported_though_the_classes_mix(data_dir):
    """Both classes in every batch, but each batch a narrow slice of a feature the file is sorted by: the
    label mix looks perfect and a model still learns nothing, so the features' mixing is measured too."""
    path = str(data_dir / "sorted_by_feature.root")
    ROOT.RDataFrame(8000).Define("label", "(int)(rdfentry_ % 2)").Define("x", "(float)(rdfentry_ / 2)") \
        .Define("noise", "(float)((rdfentry_ * 7919) % 1000)").Snapshot("tree", path, ["label", "x", "noise"])
    # A Define has the event loop read the file as one stretch (streams would mix x a little).
    df = ROOT.RDataFrame("tree", path).Define("noise_copy", "noise")
    loader = ROOT.ML.RDataLoader(df, batch_size=64, batches_in_memory=2, columns=["noise_copy", "x", "label"],
                                 target="label", set_seed=3)
    with pytest.warns(RuntimeWarning, match=r"follow the order of feature 'x' \(R = \d+\.\d.*shuffle='global'"):
        x = np.concatenate([b[0] for b in loader.as_numpy()])
    stats = loader.stats()
    assert stats["label_mix_r"] < 1.5 and stats["least_mixed_feature"] == "x"
    # The reference: the spread of the batch means of x against that of a perfect shuffle.
    means = x[: len(x) // 64 * 64, 1].reshape(-1, 64).mean(axis=1)
    reference = means.std() / np.sqrt(x[:, 1].var() / 64)
    assert stats["feature_mix_r"] == pytest.approx(reference, rel=0.05) and reference > 4

    exact = ROOT.ML.RDataLoader(df, batch_size=64, batches_in_memory=2, columns=["noise_copy", "x", "label"],
                                target="label", set_seed=3, shuffle="global")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(exact.as_numpy())
    assert exact.stats()["feature_mix_r"] < 1.5
