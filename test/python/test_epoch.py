"""What one epoch delivers: every entry exactly once, disjoint and fixed splits, seeded order."""

from __future__ import annotations

import numpy as np
import pytest

import ROOT
from conftest import epoch_indices


def loader(dfs, **kwargs):
    kwargs.setdefault("batch_size", 32)
    kwargs.setdefault("set_seed", 7)
    return ROOT.ML.RDataLoader(dfs, columns=["idx", "label"], target="label", dtypes={"idx": "int64"}, **kwargs)


def both_splits(dfs, test_size, **kwargs):
    train, val = loader(dfs, **kwargs).train_test_split(test_size)
    return epoch_indices(train.as_numpy()), epoch_indices(val.as_numpy()), train, val


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("batches_in_memory", [1, 3, None])
def test_epoch_covers_each_entry_once(clustered_file, shuffle, batches_in_memory):
    df = ROOT.RDataFrame("tree", clustered_file)
    seen = epoch_indices(
        loader(df, shuffle=shuffle, drop_remainder=False, batches_in_memory=batches_in_memory).as_numpy()
    )
    assert np.array_equal(np.sort(seen), np.arange(1000))
    if not shuffle:
        assert np.array_equal(seen, np.arange(1000))


def test_several_files_and_dataframes_cover_each_entry_once(three_files):
    chain = ROOT.RDataFrame("tree", three_files)
    separate = [ROOT.RDataFrame("tree", f) for f in three_files]
    for dfs in (chain, separate):
        seen = epoch_indices(loader(dfs, drop_remainder=False).as_numpy())
        assert np.array_equal(np.sort(seen), np.arange(1000))


def test_filtered_split_covers_passing_entries_once_without_leakage(three_files):
    df = ROOT.RDataFrame("tree", three_files).Filter("idx % 3 != 0")
    passing = np.array([i for i in range(1000) if i % 3 != 0])
    train, val, *_ = both_splits(df, 0.25, drop_remainder=False)
    assert len(np.intersect1d(train, val)) == 0
    assert np.array_equal(np.sort(np.concatenate([train, val])), passing)
    assert len(np.unique(train)) == len(train) and len(np.unique(val)) == len(val)


def test_drop_remainder_drops_only_the_last_partial_batch_of_each_split(clustered_file):
    df = ROOT.RDataFrame("tree", clustered_file)
    train, val, train_loader, val_loader = both_splits(df, 0.3, batch_size=64)
    assert len(train) == 700 // 64 * 64 and len(val) == 300 // 64 * 64
    assert train_loader.num_batches == 700 // 64 and val_loader.num_batches == 300 // 64
    assert len(np.intersect1d(train, val)) == 0


def test_split_fraction_is_honoured_and_fixed_across_epochs(sorted_signal_background):
    dfs = [ROOT.RDataFrame("tree", f) for f in sorted_signal_background]
    train_loader, val_loader = loader(dfs, drop_remainder=False).train_test_split(0.2)
    assert abs(val_loader.num_entries - 0.2 * 4000) <= 1
    first = set(epoch_indices(val_loader.as_numpy()))
    second = set(epoch_indices(val_loader.as_numpy()))
    assert first == second
    assert first.isdisjoint(epoch_indices(train_loader.as_numpy()))
    # Validation comes from both files, not just the last one read.
    assert min(first) < 2000 <= max(first)


def _with_event(df):
    # An event number unrelated to the position of the entry in the files.
    return df.Define("event", "(ULong64_t)(idx * 7919 + 3)")


def test_split_by_key_folds_depend_on_the_key_alone(three_files):
    chain = _with_event(ROOT.RDataFrame("tree", three_files))
    separate = [_with_event(ROOT.RDataFrame("tree", f)) for f in three_files]
    idx = np.arange(1000)
    expected_val = idx[(idx * 7919 + 3) % 3 == 1]
    for dfs, seed in ((chain, 7), (separate, 11)):
        train, val = loader(dfs, drop_remainder=False, set_seed=seed).train_test_split(
            split_key="event", n_folds=3, fold=1)
        val_seen, train_seen = epoch_indices(val.as_numpy()), epoch_indices(train.as_numpy())
        assert np.array_equal(np.sort(val_seen), expected_val)
        assert np.array_equal(np.sort(train_seen), np.setdiff1d(idx, expected_val))
        assert val.num_entries == len(expected_val)


def test_split_by_key_hash_keeps_the_fraction_and_ignores_seed_and_layout(three_files):
    splits = []
    for dfs, seed in ((_with_event(ROOT.RDataFrame("tree", three_files)), 1),
                      ([_with_event(ROOT.RDataFrame("tree", f)) for f in three_files], 2)):
        train, val = loader(dfs, drop_remainder=False, set_seed=seed).train_test_split(0.25, split_key="event")
        val_seen, train_seen = epoch_indices(val.as_numpy()), epoch_indices(train.as_numpy())
        assert np.array_equal(np.sort(np.concatenate([train_seen, val_seen])), np.arange(1000))
        splits.append(set(val_seen))
    assert splits[0] == splits[1]
    assert abs(len(splits[0]) - 250) < 4 * np.sqrt(1000 * 0.25 * 0.75)


def test_split_by_key_fits_the_normalisation_on_training_entries_only(three_files):
    df = _with_event(ROOT.RDataFrame("tree", three_files))
    train, _ = ROOT.ML.RDataLoader(df, batch_size=50, columns=["x", "label"], target="label",
                                   normalize="standard").train_test_split(split_key="event", n_folds=2, fold=0)
    idx = np.arange(1000)
    train_x = (idx[(idx * 7919 + 3) % 2 == 1] * 0.5).astype(np.float32)
    stats = train.normalization
    assert stats.shift[0] == pytest.approx(train_x.mean(), rel=1e-6)
    assert stats.scale[0] == pytest.approx(1 / train_x.std(), rel=1e-5)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"split_key": "x", "n_folds": 2, "fold": 0}, TypeError, r"split_key 'x' has type Float_t, but a split key must be an integer column"),
    ({"split_key": "evnt", "test_size": 0.2}, KeyError, r"no column 'evnt'.*did you mean 'event'"),
    ({"n_folds": 2, "fold": 0}, ValueError, r"n_folds and fold need split_key="),
    ({"split_key": "event", "n_folds": 2, "fold": 2}, ValueError, r"fold must be in \[0, n_folds\) .*got fold 2 of 2"),
    ({"split_key": "event", "n_folds": 1, "fold": 0}, ValueError, r"with at least 2 folds; got fold 0 of 1"),
    ({"split_key": "event", "n_folds": 2}, TypeError, r"k folds need both n_folds and fold"),
    ({"split_key": "event", "test_size": 0.2, "n_folds": 2, "fold": 0}, TypeError, r"either test_size or n_folds"),
    ({"split_key": "event"}, TypeError, r"needs test_size \(or, with split_key, n_folds and fold\)"),
])
def test_bad_split_by_key_raises_before_reading(clustered_file, kwargs, error, message):
    df = _with_event(ROOT.RDataFrame("tree", clustered_file))
    with pytest.raises(error, match=message):
        loader(df).train_test_split(**kwargs)


def test_range_is_honoured(clustered_file):
    df = ROOT.RDataFrame("tree", clustered_file).Range(250)
    seen = epoch_indices(loader(df, drop_remainder=False).as_numpy())
    assert np.array_equal(np.sort(seen), np.arange(250))


def test_filter_after_range_and_range_after_filter(clustered_file):
    df = ROOT.RDataFrame("tree", clustered_file)
    after = epoch_indices(loader(df.Filter("idx % 2 == 0").Range(100), drop_remainder=False).as_numpy())
    assert np.array_equal(np.sort(after), np.arange(0, 200, 2))
    before = epoch_indices(loader(df.Range(100).Filter("idx % 2 == 0"), drop_remainder=False).as_numpy())
    assert np.array_equal(np.sort(before), np.arange(0, 100, 2))


def test_dataframe_of_defined_columns_only():
    df = ROOT.RDataFrame(777).Define("idx", "(Long64_t)rdfentry_").Define("label", "(int)(rdfentry_ % 2)")
    train, val, *_ = both_splits(df, 0.1, drop_remainder=False)
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(777))


def test_same_seed_gives_identical_epochs_and_epochs_differ(three_files):
    def epochs(seed):
        train = loader(ROOT.RDataFrame("tree", three_files), set_seed=seed, batches_in_memory=4)
        return [epoch_indices(train.as_numpy()) for _ in range(3)]

    first, again = epochs(11), epochs(11)
    for a, b in zip(first, again):
        assert np.array_equal(a, b)
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first[0], epochs(12)[0])


def test_zero_seed_draws_a_random_seed(clustered_file):
    df = ROOT.RDataFrame("tree", clustered_file)
    assert not np.array_equal(epoch_indices(loader(df, set_seed=0).as_numpy()),
                              epoch_indices(loader(df, set_seed=0).as_numpy()))


def test_user_actions_on_the_dataframe_still_see_all_entries(clustered_file):
    df = ROOT.RDataFrame("tree", clustered_file)
    for _ in loader(df).as_numpy():
        pass
    assert df.Count().GetValue() == 1000


def test_len_and_properties_match_the_epoch(clustered_file):
    df = ROOT.RDataFrame("tree", clustered_file)
    train = ROOT.ML.RDataLoader(df, batch_size=100, columns=["x", "y", "label"], target="label",
                                drop_remainder=False)
    batches = list(train.as_numpy())
    assert len(train.as_numpy()) == len(batches) == train.num_batches == 10
    assert train.last_batch_no_of_rows == 0
    assert train.columns == ["x", "y", "label"]
    assert train.train_columns == ["x", "y"] and train.target_columns == ["label"]
    assert "1000 entries" in repr(train) and "batches of 100" in repr(train)
    # ROOT's meaning: the rows of the last batch, also when drop_remainder drops it.
    for drop_remainder, batches in ((True, 3), (False, 4)):
        loader = ROOT.ML.RDataLoader(df, batch_size=300, columns=["x"], drop_remainder=drop_remainder)
        assert (loader.num_batches, loader.last_batch_no_of_rows) == (batches, 100)
        assert len(list(loader.as_numpy())) == batches


def test_validation_split_spelling_returns_train_and_validation(clustered_file):
    df = ROOT.RDataFrame("tree", clustered_file)
    train, val = ROOT.ML.RDataLoader(df, batch_size=10, columns=["x"], validation_split=0.2)
    assert (train.num_entries, val.num_entries) == (800, 200)
    assert len(list(val.AsNumpy())) == 20


def test_implicit_multithreading_keeps_exactly_once_and_determinism_or_refuses(three_files):
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import numpy as np, ROOT
        ROOT.EnableImplicitMT(2)
        def epoch(df, seed):
            loader = ROOT.ML.RDataLoader(df, batch_size=32, columns=["idx"], dtypes={{"idx": "int64"}},
                                         set_seed=seed, drop_remainder=False, batches_in_memory=2)
            return np.concatenate([b[:, 0] for b in loader.as_numpy()])
        filtered = ROOT.RDataFrame("tree", {three_files!r}).Filter("idx % 3 != 0")
        a, b = epoch(filtered, 4), epoch(filtered, 4)
        assert np.array_equal(np.sort(a), [i for i in range(1000) if i % 3]), "filtered coverage"
        assert np.array_equal(a, b), "determinism"
        empty = ROOT.RDataFrame(5000).Define("idx", "(Long64_t)rdfentry_")
        try:
            epoch(empty, 1)
        except ValueError as error:
            assert "implicit multi-threading" in str(error), str(error)
        else:
            raise AssertionError("a dataframe without clusters under implicit MT was accepted")
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]
