"""Resampling while streaming: exact sizes per epoch, fresh draws. By target (``resample_by="target"``):
the classes of the label, any number of them; by dataframe (the default, ROOT's meaning): the two
dataframes, both splits. (test_compat_root.py compares the dataframe mode with ROOT's loader.)"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import ROOT
from conftest import write_tree


@pytest.fixture(scope="module")
def signal_and_background(tmp_path_factory) -> list:
    """ROOT's usual layout, imbalanced: a signal file of 150 entries and a background file of 3000."""
    folder = tmp_path_factory.mktemp("sampling")
    return [write_tree(folder / "sig.root", 150, label=1, cluster=50),
            write_tree(folder / "bkg.root", 3000, first_index=150, label=0, cluster=250)]


def _loader(paths, **kwargs):
    """Signal and background resampled by their label, unless the test says otherwise."""
    kwargs.setdefault("set_seed", 5)
    if kwargs.get("sampling_type"):
        kwargs.setdefault("resample_by", "target")
    return ROOT.ML.RDataLoader([ROOT.RDataFrame("tree", p) for p in paths], batch_size=64,
                               columns=["idx", "label"], target="label", dtypes={"idx": "int64", "label": "int64"},
                               drop_remainder=False, **kwargs)


def _epoch(batches) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = zip(*((np.asarray(x)[:, 0].copy(), np.asarray(y).copy()) for x, y in batches))
    return np.concatenate(xs), np.concatenate(ys)


def test_undersampling_streams_the_ratio_exactly_and_draws_afresh_each_epoch(signal_and_background):
    train, val = _loader(signal_and_background, sampling_type="undersampling",
                         sampling_ratio=0.5).train_test_split(0.2)
    classes = train.resampled_classes
    assert set(classes) == {0, 1}
    (bkg_in, bkg_out), (sig_in, sig_out) = classes[0], classes[1]
    assert bkg_in + sig_in == 3150 - round(0.2 * 3150)
    assert sig_out == sig_in and bkg_out == round(sig_in / 0.5) < bkg_in
    assert train.num_entries == sig_out + bkg_out and len(train.as_numpy()) == -(-train.num_entries // 64)

    drawn = []
    for _ in range(3):
        idx, labels = _epoch(train.as_numpy())
        assert (labels == 1).sum() / (labels == 0).sum() == pytest.approx(0.5, rel=0.01)
        assert len(np.unique(idx)) == len(idx)  # without replacement: distinct entries
        drawn.append(frozenset(idx[labels == 0]))
    assert len(set(drawn)) == 3

    # Validation keeps the true mixture and never meets a training entry.
    val_idx, val_labels = _epoch(val.as_numpy())
    assert len(val_idx) == round(0.2 * 3150)
    assert frozenset(val_idx).isdisjoint(frozenset().union(*drawn))
    assert 0 < (val_labels == 1).sum() < 0.1 * len(val_labels)


def test_oversampling_repeats_every_class_up_to_the_largest_across_dataframes(three_files):
    # Three classes 4:2:1 spread over three dataframes.
    dfs = [ROOT.RDataFrame("tree", f).Redefine("label", "(int)(idx % 7 < 4 ? 0 : idx % 7 < 6 ? 1 : 2)")
           for f in three_files]
    loader = ROOT.ML.RDataLoader(dfs, batch_size=50, columns=["idx", "label"], target="label",
                                 dtypes={"idx": "int64", "label": "int64"}, drop_remainder=False,
                                 sampling_type="oversampling", sampling_ratio=1.0, resample_by="target", set_seed=2)
    idx, labels = _epoch(loader.as_numpy())
    class_of = np.array([0, 0, 0, 0, 1, 1, 2])[np.arange(1000) % 7]
    sizes = np.bincount(class_of)
    largest = sizes.max()
    assert Counter(labels.tolist()) == {0: largest, 1: largest, 2: largest}
    copies = Counter(idx.tolist())
    assert set(copies) == set(range(1000))  # every entry at least once
    for entry, n in copies.items():
        size = sizes[class_of[entry]]
        assert n in (largest // size, -(-largest // size))


def test_resampling_with_replacement_is_seeded_and_keeps_class_sizes(signal_and_background):
    def run(seed):
        loader = _loader(signal_and_background, sampling_type="undersampling", replacement=True, set_seed=seed)
        return [_epoch(loader.as_numpy()) for _ in range(2)]

    first, again, other = run(9), run(9), run(10)
    for (idx_a, lab_a), (idx_b, lab_b) in zip(first, again):
        assert np.array_equal(idx_a, idx_b) and np.array_equal(lab_a, lab_b)
    assert not np.array_equal(first[0][0], other[0][0])
    for idx, labels in first:
        assert (labels == 0).sum() == (labels == 1).sum() == 150
    background = first[0][0][first[0][1] == 0]
    assert len(np.unique(background)) < len(background)  # independent draws repeat some entries


def test_resampled_loader_feeds_torch_training(signal_and_background):
    torch = pytest.importorskip("torch")
    train = _loader(signal_and_background, sampling_type="oversampling", sampling_ratio=0.8)
    model = torch.nn.Linear(1, 2)
    optimiser = torch.optim.SGD(model.parameters(), lr=1e-3)
    seen = Counter()
    for x, y in train.as_torch():
        loss = torch.nn.functional.cross_entropy(model(x.float() / 3000), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        seen.update(y.tolist())
    assert seen[1] == round(0.8 * 3000) and seen[0] == 3000


@pytest.mark.parametrize("kwargs, error, message", [
    ({"sampling_type": "downsampling"}, ValueError, r"sampling_type must be 'undersampling' or 'oversampling'"),
    ({"sampling_type": "oversampling", "sampling_ratio": 0}, ValueError, r"sampling_ratio must be in \(0, 1\] \(minority over majority"),
    ({"sampling_type": "oversampling", "sampling_ratio": 1.5}, ValueError, r"must be in \(0, 1\]"),
    ({"sampling_ratio": 0.5}, ValueError, r"sampling_ratio, replacement and resample_by need sampling_type"),
    ({"sampling_type": "undersampling", "class_weights": "balanced"}, ValueError, r"either resampling \(sampling_type\) or weighting \(class_weights or reweight\), not both"),
    ({"sampling_type": "undersampling", "rank": 0, "world_size": 2}, ValueError,
     r"not available with world_size > 1.*class_weights='balanced'"),
])
def test_invalid_resampling_raises_before_reading(signal_and_background, kwargs, error, message):
    with pytest.raises(error, match=message):
        _loader(signal_and_background, **kwargs)


def test_resampling_needs_two_classes_and_a_class_label(signal_and_background):
    with pytest.raises(ValueError, match="resampling needs at least two classes in the training split; found only "
                                         "class 1"):
        _loader(signal_and_background[:1], sampling_type="undersampling").as_numpy()
    empty = ROOT.RDataFrame("tree", signal_and_background[0]).Filter("x < -1e9")
    with pytest.raises(ValueError, match=r"training split, which has no entries \(after filters\)"):
        ROOT.ML.RDataLoader(empty, columns=["x", "label"], target="label", sampling_type="undersampling",
                            resample_by="target").num_batches
    df = ROOT.RDataFrame("tree", signal_and_background[0])
    with pytest.raises(ValueError, match="resample_by='target' needs exactly one scalar target column"):
        ROOT.ML.RDataLoader(df, columns=["x", "y", "label"], target=["y", "label"], sampling_type="oversampling",
                            resample_by="target")


def test_resampled_run_resumes_and_refuses_a_loader_resampled_otherwise(signal_and_background):
    def batches():
        return _loader(signal_and_background, sampling_type="undersampling", replacement=True, set_seed=4)

    reference = batches()
    full = _epoch(reference.as_numpy())[0]
    interrupted = batches()
    running = iter(interrupted.as_numpy())
    delivered = np.concatenate([np.asarray(next(running)[0])[:, 0].copy() for _ in range(3)])
    state = interrupted.state_dict()

    resumed = batches()
    resumed.load_state_dict(state)
    rest = _epoch(resumed.as_numpy())[0]
    assert np.array_equal(np.concatenate([delivered, rest]), full)

    with pytest.raises(ValueError, match=r"sampling=\{'kind': 'undersampling'.*\} in the state but None"):
        _loader(signal_and_background).load_state_dict(state)


# --- by dataframe (the default): ROOT's two dataframes, majority and minority, both splits -------------

def _by_dataframe(paths, **kwargs):
    kwargs.setdefault("set_seed", 5)
    return ROOT.ML.RDataLoader([ROOT.RDataFrame("tree", p) for p in paths], batch_size=64, columns=["idx", "x"],
                               target="x", dtypes={"idx": "int64"}, drop_remainder=False, **kwargs)


def _idx_epoch(batches) -> np.ndarray:
    return np.concatenate([np.asarray(x)[:, 0].copy() for x, _ in batches])


@pytest.mark.parametrize("sampling_type, ratio, replacement, planned", [
    # (signal, background) per epoch, training then validation; signal 120 + 30, background 2400 + 600
    ("undersampling", 0.5, False, ((120, 240), (30, 60))),
    ("undersampling", 0.02, True, ((120, 6000), (30, 1500))),
    ("oversampling", 0.5, False, ((1200, 2400), (300, 600))),
    ("oversampling", 0.5, True, ((1200, 2400), (300, 600))),
])
def test_by_dataframe_both_splits_get_their_planned_sizes_every_epoch(signal_and_background, sampling_type, ratio,
                                                                     replacement, planned):
    """The minority is given first: the larger dataframe is the majority. A regression target (x) is no
    obstacle. Each split keeps to its own entries, and is drawn anew every epoch."""
    train, val = _by_dataframe(signal_and_background, sampling_type=sampling_type, sampling_ratio=ratio,
                               replacement=replacement).train_test_split(0.2)
    entries = ((120, 2400), (30, 600))
    for split, (signal, background), (n_signal, n_background) in zip((train, val), planned, entries):
        assert split.resampled_classes == {0: (n_signal, signal), 1: (n_background, background)}
        assert split.num_entries == signal + background
    epochs = [[_idx_epoch(split.as_numpy()) for _ in range(2)] for split in (train, val)]
    for name, both_epochs, (signal, background), (n_signal, n_background) in zip(("train", "val"), epochs, planned,
                                                                                entries):
        for idx in both_epochs:
            assert ((idx < 150).sum(), (idx >= 150).sum()) == (signal, background), name
            # the dataframe not drawn from delivers each of its entries once
            kept = idx[idx < 150] if sampling_type == "undersampling" else idx[idx >= 150]
            assert len(np.unique(kept)) == len(kept) == (n_signal if sampling_type == "undersampling" else n_background)
        delivered, available = (background, n_background) if sampling_type == "undersampling" else (signal, n_signal)
        if replacement or delivered % available:  # otherwise every epoch delivers every entry equally often
            assert not np.array_equal(np.sort(both_epochs[0]), np.sort(both_epochs[1])), f"{name}: the same draw twice"
    assert set(np.concatenate(epochs[0]).tolist()).isdisjoint(np.concatenate(epochs[1]).tolist())


def test_by_dataframe_is_seeded(signal_and_background):
    def run(seed):
        train, _ = _by_dataframe(signal_and_background, sampling_type="undersampling", sampling_ratio=0.25,
                                 set_seed=seed).train_test_split(0.2)
        return [_idx_epoch(train.as_numpy()) for _ in range(2)]

    first, again, other = run(3), run(3), run(4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(np.sort(first[0]), np.sort(first[1]))  # a new draw every epoch


@pytest.mark.parametrize("load_eager", [False, True])
def test_by_dataframe_unshuffled_is_roots_order_with_or_without_load_eager(signal_and_background, load_eager):
    """ROOT resamples only with load_eager=True; ours streams, and gives the same epochs either way."""
    train, val = _by_dataframe(signal_and_background, sampling_type="oversampling", sampling_ratio=0.1,
                               shuffle=False, load_eager=load_eager).train_test_split(0.2)
    # training: int(0.1 * 2400) = 240 signal entries, its 120 twice over, then the background's 2400
    assert _idx_epoch(train.as_numpy()).tolist() == list(range(120)) * 2 + list(range(150, 2550))
    # validation: int(0.1 * 600) = 60 signal entries, its 30 twice over, then the background's 600
    assert _idx_epoch(val.as_numpy()).tolist() == list(range(120, 150)) * 2 + list(range(2550, 3150))


@pytest.mark.parametrize("kwargs, message", [
    ({"resample_by": "label"}, r"resample_by must be 'dataframe' .* or 'target' .*; got 'label'"),
    ({"resample_by": "target", "sampling_type": ""}, r"sampling_ratio, replacement and resample_by need sampling_type"),
    ({"frames": 1}, r"resampling by dataframe \(sampling_type\) needs exactly two dataframes, the majority and the "
                    r"minority; got 1: pass the majority and the minority, or set resample_by='target'"),
    ({"frames": 3}, r"got 3: .*resample_by='target'"),
])
def test_by_dataframe_refusals_before_reading(signal_and_background, kwargs, message):
    paths = list(signal_and_background) + [signal_and_background[0]]
    kwargs.setdefault("sampling_type", "undersampling")
    with pytest.raises(ValueError, match=message):
        _by_dataframe(paths[:kwargs.pop("frames", 2)], **kwargs)


def test_undersampling_beyond_the_majority_needs_replacement(signal_and_background):
    """int(120 / 0.04) = 3000 background entries are wanted of the 2400 in training."""
    loader = _by_dataframe(signal_and_background, sampling_type="undersampling", sampling_ratio=0.04)
    with pytest.raises(ValueError, match=r"keeps int\(120 / ratio\) = 3000 entries of the majority dataframe 1, "
                                         r"which has only 2400 in the training split; raise sampling_ratio to at "
                                         r"least 0.05, or draw with replacement"):
        loader.train_test_split(0.2)[0].num_batches
