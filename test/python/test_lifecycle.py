"""Epochs as objects with a life: early exits, concurrent loaders, errors from the loading thread,
memory that is never reused under a live array, and prompt interpreter exit."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import ROOT
from conftest import epoch_indices


def make_loader(path, **kwargs):
    kwargs.setdefault("batch_size", 16)
    kwargs.setdefault("set_seed", 3)
    return ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", path), columns=["idx"], dtypes={"idx": "int64"}, **kwargs)


def test_breaking_out_of_an_epoch_then_starting_a_new_one(clustered_file):
    loader = make_loader(clustered_file, drop_remainder=False, batches_in_memory=2)
    for _, _ in zip(range(3), loader.as_numpy()):
        pass
    assert loader.stats()["batches"] == 3 and not loader.stats()["complete"]
    assert np.array_equal(np.sort(epoch_indices(loader.as_numpy())), np.arange(1000))
    assert loader.stats()["complete"]


def test_batches_handed_out_never_change_and_share_the_batch_memory(clustered_file):
    loader = make_loader(clustered_file, batches_in_memory=1)
    kept, copies = [], []
    for batch in loader.as_numpy():
        assert batch.base is not None and not batch.flags.owndata
        kept.append(batch)
        copies.append(batch.copy())
    for _ in loader.as_numpy():
        pass
    assert all(np.array_equal(a, b) for a, b in zip(kept, copies))
    addresses = {b.__array_interface__["data"][0] for b in kept}
    assert len(addresses) == len(kept)


def test_two_loaders_run_at_once(three_files, clustered_file):
    a = make_loader(three_files, drop_remainder=False)
    b = make_loader(clustered_file, drop_remainder=False)
    seen_a, seen_b = [], []
    for batch_a, batch_b in zip(a.as_numpy(), b.as_numpy()):
        seen_a.append(batch_a[:, 0])
        seen_b.append(batch_b[:, 0])
    assert len(np.unique(np.concatenate(seen_a))) == sum(len(s) for s in seen_a)
    assert len(np.unique(np.concatenate(seen_b))) == sum(len(s) for s in seen_b)


def test_loader_driven_from_another_python_thread(clustered_file):
    loader = make_loader(clustered_file, drop_remainder=False)
    result = {}
    worker = threading.Thread(target=lambda: result.update(seen=epoch_indices(loader.as_numpy())))
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert np.array_equal(np.sort(result["seen"]), np.arange(1000))


@pytest.mark.parametrize("columns", [["z"], ["x", "z"]], ids=["event_loop", "define_beside_baskets"])
def test_error_in_a_define_surfaces_in_the_consumer_thread(clustered_file, columns):
    ROOT.gInterpreter.Declare(
        "#ifndef RDL_TEST_FAIL\n#define RDL_TEST_FAIL\n"
        "float rdataloader_test_fail(Long64_t i) { if (i == 567) throw std::runtime_error(\"bad entry 567\"); "
        "return i; }\n#endif"
    )
    df = ROOT.RDataFrame("tree", clustered_file).Define("z", "rdataloader_test_fail(idx)")
    loader = ROOT.ML.RDataLoader(df, batch_size=10, columns=columns)
    # The whole message: the cluster of 100 holding entry 567, the dataframe, the define's own error and the file.
    message = (re.escape("ROOT::ML::RDataLoader: reading entries [500, 600) of dataframe 0 failed: bad entry 567 [")
               + ".*" + re.escape(f"{clustered_file}]") + "$")
    with pytest.raises(RuntimeError, match="^" + message):
        for _ in loader.as_numpy():
            pass
    # A second epoch meets the same entry and says the same.
    with pytest.raises(RuntimeError, match="^" + message):
        list(loader.as_numpy())


def test_file_truncated_while_loading_raises_naming_file_and_entries(clustered_file, tmp_path):
    import os
    import shutil

    path = tmp_path / "truncated.root"
    shutil.copy(clustered_file, path)
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", str(path)), batch_size=10, columns=["x", "y"],
                                 batches_in_memory=1, shuffle=False)
    assert loader.num_batches == 100  # the loader has counted the entries and opened the file
    os.truncate(path, path.stat().st_size // 2)
    delivered = 0
    with pytest.raises(RuntimeError, match=r"entries \[\d+, \d+\) of dataframe 0 failed.*truncated\.root"):
        for _ in loader.as_numpy():
            delivered += 1
    assert delivered < loader.num_batches


def test_close_and_context_manager(clustered_file):
    with make_loader(clustered_file) as loader:
        it = iter(loader.as_numpy())
        next(it)
    with pytest.raises(RuntimeError, match="closed"):
        list(loader.as_numpy())


def test_interpreter_exits_promptly_while_the_loading_thread_is_busy(clustered_file):
    script = textwrap.dedent(f"""
        import ROOT
        df = ROOT.RDataFrame(10_000_000).Define("x", "(float)rdfentry_")
        loader = ROOT.ML.RDataLoader(df, batch_size=1000, batches_in_memory=1, columns=["x"])
        it = iter(loader.as_numpy())
        next(it)
        print("started", flush=True)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_an_iteration_left_open_at_exit_ends_without_a_traceback(clustered_file):
    # Its clean-up used to run in the interpreter's teardown, where cppyy could no longer import: "Exception
    # ignored in: <generator object Engine.epoch ...> ImportError: sys.meta_path is None". A function of the
    # script keeps its globals, and so the iteration, alive until that late.
    script = textwrap.dedent(f"""
        import ROOT
        def train_step(x, y):
            return float(x.sum())
        df = ROOT.RDataFrame("tree", {clustered_file!r})
        loader = ROOT.ML.RDataLoader(df, batch_size=10, columns=["x", "y", "label"], target="label", set_seed=7)
        it = iter(loader.as_numpy())
        train_step(*next(it))
        print("started", flush=True)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "started" in result.stdout, result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr


COPY_OR_PICKLE = """
import copy, pickle, sys
import ROOT
loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", sys.argv[1]), batch_size=10, columns=["x", "label"],
                             target="label")
train, _ = loader.train_test_split(0.2)
for name, make in [("deepcopy", copy.deepcopy), ("copy", copy.copy), ("pickle", pickle.dumps)]:
    for what in (loader, train, train.as_numpy()):
        try:
            make(what)
            print(name, type(what).__name__, "no error")
        except TypeError as error:
            print(name, type(what).__name__, "TypeError:", str(error)[:42])
print(len(list(train.as_numpy())))
"""


def test_copying_or_pickling_a_loader_is_refused_with_the_way_out(clustered_file):
    # Both used to crash the interpreter (a segmentation fault inside cppyy).
    result = subprocess.run([sys.executable, "-c", COPY_OR_PICKLE, clustered_file], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    refused = "TypeError: an RDataLoader cannot be pickled or copied"
    assert result.stdout.splitlines() == [
        f"deepcopy RDataLoader {refused}", f"deepcopy RDataLoader {refused}", f"deepcopy Batches {refused}",
        f"copy RDataLoader {refused}", f"copy RDataLoader {refused}",
        "copy Batches no error",  # a shallow copy of the iterable, sharing the loader
        f"pickle RDataLoader {refused}", f"pickle RDataLoader {refused}", f"pickle Batches {refused}",
        "80",  # and the loader still works
    ]
