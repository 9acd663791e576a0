"""Distributed data-parallel training and resumable epochs: the shards of an epoch, state_dict() and
load_state_dict() across processes, their errors, and a real two-process DDP run under torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ROOT
from conftest import epoch_indices, write_tree
from resume_worker import SPLITS, build_loaders, collect, read_epochs

HERE = Path(__file__).resolve().parent
TUTORIAL = HERE.parents[1] / "tutorials" / "ddp_training.py"


def make_loader(paths, **kwargs):
    return build_loaders({"paths": paths, "kwargs": kwargs})[0]


# Shards ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("world_size", [2, 3])
@pytest.mark.parametrize("drop_remainder", [False, True])
def test_ranks_read_disjoint_equal_shards_that_change_every_epoch(three_files, world_size, drop_remainder):
    batch_size = 16
    ranks = [make_loader(three_files, rank=rank, world_size=world_size, drop_remainder=drop_remainder,
                         batches_in_memory=3).train_test_split(0.25) for rank in range(world_size)]
    whole = make_loader(three_files, drop_remainder=False).train_test_split(0.25)
    for split in SPLITS.values():
        entries = epoch_indices(whole[split].as_numpy())
        shard = len(entries) // world_size
        # The documented equalisation: the last len % world_size entries of the epoch's order, and with
        # drop_remainder each rank's incomplete last batch.
        used = world_size * (shard // batch_size * batch_size if drop_remainder else shard)
        previous = None
        for _ in range(2):
            shards = [epoch_indices(views[split].as_numpy()) for views in ranks]
            assert {views[split].num_entries for views in ranks} == {shard}
            assert {views[split].stats()["batches"] for views in ranks} == {len(ranks[0][split].as_numpy())}
            together = np.concatenate(shards)
            assert len(np.unique(together)) == len(together) == used
            assert np.isin(together, entries).all()
            if previous is not None:
                assert not np.array_equal(np.sort(shards[0]), np.sort(previous[0]))
            previous = shards


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    world_size=st.integers(1, 4),
    batch_size=st.integers(1, 200),
    batches_in_memory=st.one_of(st.none(), st.integers(1, 5)),
    load_eager=st.booleans(),
    shuffle=st.booleans(),
    drop_remainder=st.booleans(),
    test_size=st.one_of(st.none(), st.floats(0.05, 0.5)),
    filtered=st.booleans(),
    seed=st.integers(1, 2**40),
    data=st.data(),
)
def test_any_options_give_equal_disjoint_shards_and_resume_anywhere(three_files, world_size, batch_size,
                                                                    batches_in_memory, load_eager, shuffle,
                                                                    drop_remainder, test_size, filtered, seed, data):
    def case(**extra):
        kwargs = {"batch_size": batch_size, "batches_in_memory": batches_in_memory, "load_eager": load_eager,
                  "shuffle": shuffle, "drop_remainder": drop_remainder, "set_seed": seed, **extra}
        return {"paths": three_files, "filter": "idx % 4 != 1" if filtered else None, "kwargs": kwargs,
                "test_size": test_size}

    whole = build_loaders(case(drop_remainder=False))
    ranks = [build_loaders(case(rank=rank, world_size=world_size)) for rank in range(world_size)]
    for split in range(len(whole)):
        entries = epoch_indices(whole[split].as_numpy())
        shard = len(entries) // world_size
        used = world_size * (shard // batch_size * batch_size if drop_remainder else shard)
        shards = [epoch_indices(views[split].as_numpy()) for views in ranks]
        assert {views[split].stats()["batches"] for views in ranks} == {ranks[0][split].num_batches}
        together = np.concatenate(shards)
        assert len(np.unique(together)) == len(together) == used
        assert np.isin(together, entries).all()

    # The second epoch of a split, interrupted anywhere, resumes in a fresh loader with the same batches.
    split = data.draw(st.integers(0, len(whole) - 1), label="split")
    rank = data.draw(st.integers(0, world_size - 1), label="rank")
    views = ranks[rank]
    running = iter(views[split].as_numpy())
    delivered = data.draw(st.integers(0, views[split].num_batches), label="delivered")
    for _ in range(delivered):
        next(running)
    state = views[0].state_dict()
    rest = collect(running)
    resumed = build_loaders(case(rank=rank, world_size=world_size))
    resumed[0].load_state_dict(state)
    again = collect(resumed[split].as_numpy())
    assert all(np.array_equal(again[key], rest[key]) for key in rest)


# Resuming in another process ---------------------------------------------------------------------

#: name -> (loader description, split interrupted, batches it delivered before the state was saved)
RESUME_CASES = {
    "shuffled_with_validation": ({"kwargs": {"batches_in_memory": 2}, "test_size": 0.2}, "train", 7),
    "unshuffled": ({"kwargs": {"shuffle": False, "batches_in_memory": 2}, "test_size": 0.2}, "train", 7),
    "global_shuffle": ({"kwargs": {"shuffle": "global", "batches_in_memory": 2}, "test_size": 0.2}, "train", 7),
    "whole_split_in_memory": ({"kwargs": {"load_eager": True, "drop_remainder": False}}, "train", 5),
    "filtered": ({"filter": "idx % 3 != 0", "kwargs": {"batches_in_memory": 3}, "test_size": 0.3}, "train", 10),
    "interrupted_in_validation": ({"kwargs": {"batches_in_memory": 2}, "test_size": 0.3}, "validation", 4),
    "drawn_seed": ({"kwargs": {"set_seed": 0, "batches_in_memory": 2}, "test_size": 0.2}, "train", 7),
    "rank0_of_2": ({"kwargs": {"rank": 0, "world_size": 2, "batches_in_memory": 2}, "test_size": 0.2}, "train", 6),
    "rank1_of_2": ({"kwargs": {"rank": 1, "world_size": 2, "batches_in_memory": 2}, "test_size": 0.2}, "train", 6),
}


def epoch_batch_sizes(case: dict, split: str) -> list[int]:
    """The batch sizes of an epoch of ``split`` (a rank's, with world_size), from the documented rules: the entries
    passing the filter (RDataFrame's Count), round(test_size * N) of them validating, an equal shard per rank
    (len // world_size), whole batches, and a last partial batch unless drop_remainder."""
    df = ROOT.RDataFrame("tree", case["paths"])
    entries = (df.Filter(case["filter"]) if case.get("filter") else df).Count().GetValue()
    if case.get("test_size"):
        validating = int(case["test_size"] * entries + 0.5)
        entries = (entries - validating, validating)[SPLITS[split]]
    kwargs = {"batch_size": 16, "drop_remainder": True, "world_size": 1, **case["kwargs"]}
    full, rest = divmod(entries // kwargs["world_size"], kwargs["batch_size"])
    return [kwargs["batch_size"]] * full + ([rest] if rest and not kwargs["drop_remainder"] else [])


def test_a_state_saved_mid_epoch_resumes_bit_for_bit_in_a_new_process(three_files, tmp_path):
    cases, expected = {}, {}
    for name, (description, interrupted, delivered) in RESUME_CASES.items():
        case = {"paths": three_files, **description}
        views = build_loaders(case)
        available = list(SPLITS)[:len(views)]
        read_epochs(views, available)
        running = iter(views[SPLITS[interrupted]].as_numpy())
        for _ in range(delivered):
            next(running)
        state = views[0].state_dict()
        # The rest of the interrupted epoch, then one more epoch of each split.
        expected[name] = [collect(running)] + read_epochs(views, available)
        # The rest of the interrupted epoch: the batches after the first `delivered`, sized by the documented rules.
        assert expected[name][0]["sizes"].tolist() == epoch_batch_sizes(case, interrupted)[delivered:], name
        if name == "rank1_of_2":
            # The ranks are at the same position: rank 0's state restores every rank.
            assert state == cases["rank0_of_2"]["state"]
        cases[name] = {**case, "state": state, "splits": [interrupted] + available}
    assert cases["drawn_seed"]["state"]["seed"] != 0

    (tmp_path / "cases.json").write_text(json.dumps(cases))
    result = subprocess.run([sys.executable, str(HERE / "resume_worker.py"), str(tmp_path / "cases.json"),
                             str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    for name, epochs in expected.items():
        resumed = np.load(tmp_path / f"{name}.npz")
        for i, epoch in enumerate(epochs):
            for key, value in epoch.items():
                assert np.array_equal(resumed[f"{i}_{key}"], value), f"{name}: epoch {i} after resuming, {key}"
    assert json.loads((tmp_path / "modules.json").read_text()) == {"torch": False}


def test_state_follows_the_epoch_that_is_running(clustered_file):
    train, val = make_loader(clustered_file).train_test_split(0.2)
    assert train.state_dict()["running"] is None
    assert train.state_dict()["epochs"] == {"train": 0, "validation": 0}
    running = iter(train.as_numpy())
    next(running), next(running)
    state = val.state_dict()  # the views share one position
    assert state["running"] == {"split": "train", "batches": 2}
    assert state["epochs"] == {"train": 1, "validation": 0}
    assert json.loads(json.dumps(state)) == state
    del running  # breaking out of an epoch ends it
    assert train.state_dict()["running"] is None
    for _ in val.as_numpy():
        pass
    assert train.state_dict()["epochs"] == {"train": 1, "validation": 1}
    assert train.state_dict()["running"] is None

    other_train, _ = make_loader(clustered_file).train_test_split(0.2)
    other_train.load_state_dict(state)
    # Saving again before iterating keeps the position that was loaded.
    assert other_train.state_dict() == state


def test_a_saved_epoch_of_one_split_waits_for_that_split_while_the_other_runs(clustered_file):
    train, val = make_loader(clustered_file, batches_in_memory=2).train_test_split(0.2)
    running = iter(train.as_numpy())
    next(running)
    state = train.state_dict()
    following = [epoch_indices(val.as_numpy()), epoch_indices(running)]

    resumed_train, resumed_val = make_loader(clustered_file, batches_in_memory=2).train_test_split(0.2)
    resumed_train.load_state_dict(state)
    assert np.array_equal(epoch_indices(resumed_val.as_numpy()), following[0])
    assert np.array_equal(epoch_indices(resumed_train.as_numpy()), following[1])


def test_loading_a_state_abandons_a_suspended_iteration(clustered_file):
    loader = make_loader(clustered_file)
    running = iter(loader.as_numpy())
    next(running)
    loader.load_state_dict(make_loader(clustered_file).state_dict())
    with pytest.raises(RuntimeError, match="a state was loaded into its loader"):
        next(running)
    assert loader.state_dict()["epochs"] == {"train": 0, "validation": 0}


def test_resuming_after_the_last_batch_leaves_an_empty_rest_of_epoch(clustered_file):
    loader = make_loader(clustered_file, batches_in_memory=2)
    batches = len(loader.as_numpy())
    running = iter(loader.as_numpy())
    for _ in range(batches):  # a consumer that stops after len() batches, as Keras and Lightning do
        next(running)
    state = loader.state_dict()
    assert state["running"] == {"split": "train", "batches": batches}
    following = epoch_indices(loader.as_numpy())

    resumed = make_loader(clustered_file, batches_in_memory=2)
    resumed.load_state_dict(state)
    assert len(epoch_indices(resumed.as_numpy())) == 0
    assert np.array_equal(epoch_indices(resumed.as_numpy()), following)


def test_resuming_late_in_an_epoch_does_not_read_the_windows_already_delivered(data_dir):
    # 40k entries: the data, not the few kB of a file's header that every reader reads, make up the bytes read.
    path = write_tree(data_dir / "resumed_late.root", 40_000, cluster=4000)
    options = dict(batches_in_memory=2, shuffle=False, batch_size=400)
    loader = make_loader(path, **options)
    running = iter(loader.as_numpy())
    for _ in range(len(loader.as_numpy()) - 2):
        next(running)
    state = loader.state_dict()
    del running
    whole_epoch = make_loader(path, **options)
    for _ in whole_epoch.as_numpy():
        pass

    resumed = make_loader(path, **options)
    resumed.load_state_dict(state)
    assert len(epoch_indices(resumed.as_numpy())) == 2 * 400
    assert resumed.stats()["bytes_read"] < whole_epoch.stats()["bytes_read"] / 3


def test_a_state_between_epochs_resumes_with_another_world_size(clustered_file):
    first = make_loader(clustered_file, rank=0, world_size=2)
    for _ in first.as_numpy():
        pass
    single = make_loader(clustered_file)
    single.load_state_dict(first.state_dict())
    reference = make_loader(clustered_file)
    epoch_indices(reference.as_numpy())
    assert np.array_equal(epoch_indices(single.as_numpy()), epoch_indices(reference.as_numpy()))


# Errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    ({"rank": 2, "world_size": 2}, r"rank must be in \[0, world_size\) = \[0, 2\); got 2"),
    ({"rank": -1, "world_size": 2}, r"rank must be a non-negative integer; got -1"),
    ({"rank": 0, "world_size": 0}, "world_size must be positive"),
    ({"rank": 0, "world_size": 1.5}, "world_size must be a non-negative integer"),
    ({"world_size": 2}, "give both rank and world_size, or neither"),
    ({"rank": 0, "world_size": 2, "set_seed": 0}, "every rank must use the same seed"),
])
def test_bad_rank_or_world_size_raises(clustered_file, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_loader(clustered_file, **kwargs)


def _mid_epoch_state(paths, **kwargs) -> dict:
    views = build_loaders({"paths": paths, "kwargs": kwargs, "test_size": 0.2})
    running = iter(views[0].as_numpy())
    next(running)
    return views[0].state_dict()


@pytest.mark.parametrize("change, message", [
    ({"kwargs": {"batch_size": 32}}, r"batch_size=16 in the state but 32 in this loader"),
    ({"kwargs": {"shuffle": False}}, r"shuffle=True in the state but False in this loader"),
    ({"test_size": None}, r"split='test_size=0.2' in the state but 'test_size=0.0' in this loader; split this loader"),
    ({"filter": "idx % 2 == 0"}, r"its dataset differs from the saved one"),
    ({"paths": "other"}, r"its dataset differs from the saved one"),
    ({"kwargs": {"set_seed": 6}}, r"saved with seed 5, but this RDataLoader has set_seed=6"),
    ({"kwargs": {"rank": 0, "world_size": 2}}, r"an epoch can only be resumed by as many processes"),
])
def test_loading_the_state_of_an_incompatible_loader_raises(clustered_file, three_files, change, message):
    state = _mid_epoch_state(clustered_file)
    case = {"paths": clustered_file, "kwargs": {}, "test_size": 0.2, **change}
    if case["paths"] == "other":
        case["paths"] = three_files[0]
    views = build_loaders(case)
    with pytest.raises(ValueError, match=message):
        views[0].load_state_dict(state)


def test_loading_something_that_is_not_a_state_raises(clustered_file):
    state = _mid_epoch_state(clustered_file)
    train, _ = build_loaders({"paths": clustered_file, "test_size": 0.2})
    with pytest.raises(ValueError, match="not an RDataLoader state"):
        train.load_state_dict({"epoch": 3})
    # A state of the version before the split was drawn in blocks would resume another split.
    with pytest.raises(ValueError, match="saved by another version of rdataloader .format 'rdataloader.state/1'"):
        train.load_state_dict({**state, "format": "rdataloader.state/1"})
    with pytest.raises(ValueError, match="malformed RDataLoader state"):
        train.load_state_dict({**state, "running": {"split": "train", "batches": 10**6}})
    with pytest.raises(ValueError, match="malformed RDataLoader state"):
        train.load_state_dict({**state, "epochs": {"train": -1}})


# A real distributed run --------------------------------------------------------------------------


@pytest.mark.torch
def test_torchrun_ddp_tutorial_trains_on_disjoint_equal_shards(tmp_path):
    """tutorials/ddp_training.py --fast under torchrun with two processes: the tutorial's test too."""
    torch = pytest.importorskip("torch")
    checkpoint = tmp_path / "checkpoint.pt"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(TUTORIAL),
               "--fast", "--data", str(tmp_path / "events.root"), "--log-dir", str(tmp_path),
               "--checkpoint", str(checkpoint)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "summary: 2 ranks" in result.stdout
    logs = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(2)]
    assert [(log["rank"], log["world_size"]) for log in logs] == [(0, 2), (1, 2)]

    # --fast: 20000 entries, 20 % for validation; each rank gets 8000 and delivers 31 batches of 256.
    batches, used = 31, 2 * 31 * 256
    for epoch in range(2):
        seen = [log["epochs"][epoch] for log in logs]
        assert [s["batches"] for s in seen] == [batches, batches] == [log["batches_per_epoch"] for log in logs]
        together = np.concatenate([s["events"] for s in seen])
        assert len(np.unique(together)) == len(together) == used
        assert together.min() >= 0 and together.max() < 20000
        # Each rank reads its own part of the file: about 80 % / 2 of it, plus metadata (a twentieth of this small
        # file) and the baskets on its shard's borders; measured 0.51 and 0.56 of the file. Reading the other
        # rank's shard too would be 0.8 at least.
        for s, log in zip(seen, logs):
            assert s["bytes_read"] < 0.65 * log["file_bytes"], (s["bytes_read"], log["file_bytes"])
    for log in logs:
        first, second = log["epochs"]
        assert set(first["events"]) != set(second["events"])
        assert np.mean(second["losses"]) < np.mean(first["losses"])
        assert second["validation_loss"] < first["validation_loss"]

    saved = torch.load(checkpoint, map_location="cpu")
    assert saved["epoch"] == 2
    assert saved["loader"]["epochs"] == {"train": 2, "validation": 2} and saved["loader"]["running"] is None


@pytest.mark.parametrize("bad", [{"epochs": {"train": 2**64, "validation": 0}}, {"seed": 2**64},
                                 {"seed": "5"}, {"running": {"split": "test", "batches": 1}}])
def test_a_refused_state_leaves_the_loader_as_it_was(clustered_file, bad):
    state = _mid_epoch_state(clustered_file)
    # set_seed=0: a valid state would replace the drawn seed, and the epoch counters.
    train, validation = build_loaders({"paths": clustered_file, "test_size": 0.2, "kwargs": {"set_seed": 0}})
    next(iter(validation.as_numpy()))
    before = train.state_dict()
    with pytest.raises(ValueError, match="malformed RDataLoader state"):
        train.load_state_dict({**state, **bad})
    assert train.state_dict() == before
