"""Any number of iterations of a loader and its splits at once, as training loops interleave them:
validation in the middle of an epoch, ``zip(train, val)``, two passes over one split, torch's DataLoader
and Lightning's ``val_check_interval``. Each iteration is an epoch of its own: it delivers its split exactly
once, and the same batches as the same epoch iterated alone (the reference: a fresh loader, one epoch
after the other)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import ROOT
from conftest import epoch_indices, write_tree

torch = pytest.importorskip("torch")


def make_splits(paths, **kwargs):
    dfs = [ROOT.RDataFrame("tree", p) for p in paths]
    options = dict(batch_size=50, batches_in_memory=3, columns=["idx", "x", "label"], target="label", set_seed=11)
    options.update(kwargs)
    return ROOT.ML.RDataLoader(dfs, **options).train_test_split(0.25)


def same_batches(a, b) -> bool:
    return len(a) == len(b) and all(
        all(np.array_equal(p, q) for p, q in zip(x, y)) for x, y in zip(a, b))


def reference_epochs(paths, split: int, epochs: int, **kwargs) -> list[list]:
    """The first ``epochs`` epochs of one split, one after the other, on a fresh loader."""
    loader = make_splits(paths, **kwargs)[split]
    return [[tuple(np.copy(a) for a in batch) for batch in loader.as_numpy()] for _ in range(epochs)]


def copied(batches):
    return [tuple(np.copy(a) for a in batch) for batch in batches]


@pytest.mark.parametrize("shuffle", [True, False, "global"])
def test_validation_in_the_middle_of_a_training_epoch(three_files, shuffle):
    train, val = make_splits(three_files, shuffle=shuffle)
    train_epoch, val_epochs = [], []
    for step, batch in enumerate(train.as_numpy()):
        train_epoch.append(tuple(np.copy(a) for a in batch))
        if step % 4 == 0:
            val_epochs.append(copied(val.as_numpy()))
    assert same_batches(train_epoch, reference_epochs(three_files, 0, 1, shuffle=shuffle)[0])
    expected_val = reference_epochs(three_files, 1, len(val_epochs), shuffle=shuffle)
    # A validation epoch at every 4th of the training batches: whole batches of 50 of N - round(0.25 N) entries.
    entries = sum(ROOT.RDataFrame("tree", p).Count().GetValue() for p in three_files)
    assert len(val_epochs) == len(range(0, (entries - int(0.25 * entries + 0.5)) // 50, 4))
    for got, expected in zip(val_epochs, expected_val):
        assert same_batches(got, expected)
    train_ids, val_ids = epoch_indices(train_epoch), epoch_indices(val_epochs[0])
    assert len(set(train_ids)) == len(train_ids) and len(set(val_ids)) == len(val_ids)
    assert sorted(np.concatenate([train_ids, val_ids])) == list(range(1000))


def test_zip_of_train_and_validation(three_files):
    train, val = make_splits(three_files)
    pairs = list(zip(train.as_numpy(), val.as_numpy()))
    assert len(pairs) == min(train.num_batches, val.num_batches)
    got_train = copied(t for t, _ in pairs)
    got_val = copied(v for _, v in pairs)
    assert same_batches(got_train, reference_epochs(three_files, 0, 1)[0][:len(pairs)])
    assert same_batches(got_val, reference_epochs(three_files, 1, 1)[0][:len(pairs)])


def test_cycled_validation_beside_training_covers_both_each_epoch(three_files):
    """zip(train, cycle(val)), as domain adaptation does: val restarts while train runs."""
    train, val = make_splits(three_files)

    def cycle():
        while True:
            yield from val.as_numpy()

    pairs = list(zip(train.as_numpy(), cycle()))
    assert len(pairs) == train.num_batches
    val_ids = epoch_indices(copied(v for _, v in pairs))
    per_epoch = val.num_entries
    for start in range(0, len(val_ids) - per_epoch + 1, per_epoch):
        chunk = val_ids[start:start + per_epoch]
        assert len(set(chunk)) == per_epoch, "a validation epoch repeated or lost entries"


def test_two_passes_over_one_split_at_once_are_two_epochs(three_files):
    train, _ = make_splits(three_files)
    first, second = iter(train.as_numpy()), iter(train.as_numpy())
    a, b = [], []
    for x, y in itertools.zip_longest(first, second):
        if x is not None:
            a.append(tuple(np.copy(p) for p in x))
        if y is not None:
            b.append(tuple(np.copy(p) for p in y))
    expected = reference_epochs(three_files, 0, 2)
    assert same_batches(a, expected[0]) and same_batches(b, expected[1])
    assert not same_batches(a, b), "the two epochs were shuffled alike"


def test_abandoned_iterations_release_their_epoch(three_files):
    """Iterations left half-way (a break, a dropped iterator) stop their reading; later ones are whole."""
    train, val = make_splits(three_files)
    for _ in range(5):
        running = iter(train.as_numpy())
        next(running)
        del running
        for step, _ in enumerate(val.as_numpy()):
            if step == 1:
                break
    ids = epoch_indices(copied(train.as_numpy()))
    assert len(ids) == train.num_entries and len(set(ids)) == len(ids)


def test_torch_dataloaders_of_both_splits_interleaved(three_files):
    train, val = make_splits(three_files)
    train_loader = torch.utils.data.DataLoader(train.as_torch(), batch_size=None)
    val_loader = torch.utils.data.DataLoader(val.as_torch(), batch_size=None)
    seen_val = []
    seen_train = []
    for step, (x, _) in enumerate(train_loader):
        seen_train.append(x[:, 0].numpy().astype(np.int64))
        if step == 3:
            seen_val.append(np.concatenate([xv[:, 0].numpy().astype(np.int64) for xv, _ in val_loader]))
    train_ids = np.concatenate(seen_train)
    assert sorted(np.concatenate([train_ids, seen_val[0]])) == list(range(1000))


def test_lightning_validates_four_times_an_epoch(three_files):
    lightning = pytest.importorskip("lightning")

    class Recorder(lightning.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(2, 1)
            self.train_ids: list[np.ndarray] = []
            self.val_ids: list[np.ndarray] = []

        def training_step(self, batch, _):
            x, y = batch
            self.train_ids.append(x[:, 0].numpy().astype(np.int64))
            return torch.nn.functional.mse_loss(self.net(x * 1e-3), y)

        def validation_step(self, batch, _):
            x, _ = batch
            self.val_ids.append(x[:, 0].numpy().astype(np.int64))

        def on_validation_epoch_end(self):
            self.val_ids.append(None)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.0)

    train, val = make_splits(three_files)
    model = Recorder()
    trainer = lightning.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                                enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                                val_check_interval=0.25)
    trainer.fit(model, train_dataloaders=train.as_torch(), val_dataloaders=val.as_torch())
    train_ids = np.concatenate(model.train_ids)
    per_epoch = train.num_entries
    assert len(train_ids) == 2 * per_epoch
    for epoch in range(2):
        assert sorted(train_ids[epoch * per_epoch:(epoch + 1) * per_epoch]) == sorted(train_ids[:per_epoch])
    val_runs, current = [], []
    for ids in model.val_ids:
        if ids is None:
            val_runs.append(np.concatenate(current))
            current = []
        else:
            current.append(ids)
    # Lightning validates every int(0.25 * batches) training batches.
    checks = train.num_batches // int(0.25 * train.num_batches)
    assert checks >= 4 and len(val_runs) == 2 * checks, f"{len(val_runs)} validation runs in two epochs"
    for run in val_runs:
        assert sorted(run) == sorted(val_runs[0]) and len(set(run)) == val.num_entries
    assert not set(val_runs[0]) & set(train_ids)


def test_a_state_saved_during_validation_keeps_the_training_position(three_files):
    train, val = make_splits(three_files)
    running = iter(train.as_numpy())
    for _ in range(3):
        next(running)
    validating = iter(val.as_numpy())
    next(validating)
    state = train.state_dict()
    assert state["running"] == {"split": "train", "batches": 3}
    rest = copied(running)

    resumed, _ = make_splits(three_files)
    resumed.load_state_dict(state)
    assert same_batches(copied(resumed.as_numpy()), rest)


def test_loaders_over_nodes_of_one_dataframe_read_at_once(tmp_path):
    # Training and validation selections of one RDataFrame share its event loop: each loader's loops (and the
    # second loader's counting pass, run in the middle of the first one's epoch) must take turns on it.
    entries = 40_000
    base = ROOT.RDataFrame("tree", write_tree(tmp_path / "siblings.root", entries, cluster=500))
    options = dict(batch_size=64, batches_in_memory=2, columns=["idx", "a"], dtypes={"idx": "float64", "a": "float64"},
                   drop_remainder=False, set_seed=5)
    train = ROOT.ML.RDataLoader(base.Define("a", "idx * 2.0").Filter("idx % 2 == 0"), **options)
    train_epoch = iter(train.as_numpy())
    first = np.array(next(train_epoch))
    val = ROOT.ML.RDataLoader(base.Define("a", "idx * 3.0").Filter("idx % 2 == 1"), **options)
    seen = {0: [first], 1: []}
    for batches in itertools.zip_longest(train_epoch, val.as_numpy()):
        for parity, batch in enumerate(batches):
            if batch is not None:
                seen[parity].append(np.array(batch))
    for parity, factor in ((0, 2.0), (1, 3.0)):
        rows = np.concatenate(seen[parity])
        assert np.array_equal(np.sort(rows[:, 0]), np.arange(parity, entries, 2))
        assert np.array_equal(rows[:, 1], factor * rows[:, 0])
    assert train.stats()["read_paths"]["a"].startswith("event loop")
