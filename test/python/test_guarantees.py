"""Guarantees of the README that no other test pins down, each checked against an independent reference
(NumPy, RDataFrame, the raw C++ batch memory, or a statistical law). test/mutation.py relies on them to
catch mutants that every other test lets through."""

from __future__ import annotations

import ctypes
import itertools
import math
import threading
from collections import Counter

import numpy as np
import pytest

import ROOT
from conftest import epoch_indices, write_tree
from rdataloader import _cxx, _engine

#: A uniform random permutation's statistics would exceed this many standard deviations about once in
#: 3.5 million draws; the seeds are fixed, so the tests are deterministic all the same.
_Z = 5.0


def _chi2_critical(dof: int, z: float = _Z) -> float:
    """The chi-square value that a variable of ``dof`` degrees of freedom exceeds with the normal tail
    probability beyond ``z`` (the Wilson-Hilferty approximation, accurate to a few percent here)."""
    h = 2 / (9 * dof)
    return dof * (1 - h + z * math.sqrt(h)) ** 3


def _chi2(observed: np.ndarray, expected: float) -> float:
    return float(((observed - expected) ** 2 / expected).sum())


def test_the_shuffle_window_draws_uniform_permutations(data_dir):
    """Every window of 5 one-entry batches is a permutation of 5 entries, drawn anew per window: the 120
    orders must come out equally often, and each entry of a window in each of its 5 batches equally often.
    A permutation with no fixed point (Sattolo's algorithm instead of Fisher-Yates') gives 24 orders only.

    The reading order inside a window does not matter: a uniform permutation composed with any fixed
    order is uniform, so the ranks of the delivered values within their window are the statistic."""
    windows, size = 1200, 5
    path = write_tree(data_dir / "permutations.root", windows * size, cluster=windows * size)
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", path), batch_size=1, batches_in_memory=size,
                                 columns=["idx"], dtypes={"idx": "int64"}, set_seed=2024)
    values = epoch_indices(loader.as_numpy()).reshape(windows, size)
    assert np.array_equal(np.sort(values.ravel()), np.arange(windows * size))
    ranks = values.argsort(axis=1).argsort(axis=1)  # rank of each batch's entry among its window's entries

    orders = Counter(map(tuple, ranks))
    counts = np.array([orders[order] for order in itertools.permutations(range(size))])
    assert _chi2(counts, windows / len(counts)) < _chi2_critical(len(counts) - 1), f"{len(orders)} orders seen"

    places = np.zeros((size, size))  # [rank, batch]: how often the entry of that rank went to that batch
    for batch in range(size):
        places[:, batch] = np.bincount(ranks[:, batch], minlength=size)
    assert _chi2(places, windows / size) < _chi2_critical((size - 1) ** 2), places


def test_the_drawn_split_moves_with_the_seed_across_all_clusters(clustered_file):
    """Validation units are drawn from all over each dataframe by the seed: over 10 clusters of 100 entries,
    a 10 % validation split is one whole cluster, a different one for different seeds. Uniform draws would
    choose at most 3 clusters for 12 seeds with probability 6e-5."""
    chosen = set()
    for seed in range(1, 13):
        _, val = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", clustered_file), batch_size=50, columns=["idx"],
                                     dtypes={"idx": "int64"}, set_seed=seed).train_test_split(0.1)
        clusters = np.unique(epoch_indices(val.as_numpy()) // 100)
        assert len(clusters) == 1
        chosen.add(int(clusters[0]))
    assert len(chosen) >= 4, chosen


@pytest.mark.parametrize("counted, read", [
    ("idx < 1000", "idx < 500"),
    # more entries pass inside the ranges the counting loop recorded: none may be cut silently to the count
    ("idx % 2 == 0", "idx % 1 == 0"),
], ids=["shrinks", "grows"])
@pytest.mark.parametrize("columns, read_threads", [(["idx"], 0), (["idx", "twice"], 2)],
                         ids=["event_loop", "define_beside_baskets"])
def test_a_dataset_that_changes_after_counting_raises_instead_of_a_wrong_epoch(clustered_file, counted, read,
                                                                               columns, read_threads):
    """The README's 'changed input' row: the filter passes one set of entries when the loader counts them,
    another in the epoch. The event loop runs the filter again in the epoch, alone (read_threads=0) or to
    compute a Define while the stored column comes from the baskets, and the epoch must raise, promptly,
    rather than deliver an epoch short of entries or one cut to the count."""
    ROOT.gInterpreter.Declare("#ifndef RDL_GUARANTEES_CUT\n#define RDL_GUARANTEES_CUT\n"
                              "namespace rdl_guarantees { bool counting = true; }\n#endif")
    ROOT.rdl_guarantees.counting = True
    df = (ROOT.RDataFrame("tree", clustered_file).Filter(f"rdl_guarantees::counting ? ({counted}) : ({read})")
          .Define("twice", "2 * idx"))
    loader = ROOT.ML.RDataLoader(df, batch_size=10, columns=columns, dtypes={c: "int64" for c in columns},
                                 read_threads=read_threads, drop_remainder=False, set_seed=1)
    assert loader.num_entries == (1000 if "1000" in counted else 500)
    ROOT.rdl_guarantees.counting = False
    outcome: dict = {}

    def consume() -> None:
        try:
            outcome["entries"] = len(epoch_indices(loader.as_numpy()))
        except RuntimeError as error:
            outcome["error"] = str(error)

    # On a thread, so that a loader that neither raises nor ends fails the test instead of hanging it.
    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    consumer.join(timeout=30)
    if consumer.is_alive():
        loader.close()
        consumer.join(timeout=30)
        pytest.fail("an epoch over a dataset that changed neither raised nor ended within 30 s")
    assert "did the input files change" in outcome.get("error", ""), outcome


@pytest.mark.parametrize("output", ["numpy", pytest.param("torch", marks=pytest.mark.torch)])
def test_batches_are_views_of_the_cxx_batch_memory(clustered_file, monkeypatch, output):
    """The no-copy promise: what as_numpy() and as_torch() hand out starts at the address of the C++
    batch's block, and a write through either side is seen through the other."""
    if output == "torch":
        pytest.importorskip("torch")
    cxx_batches = []
    wrap = _engine.block_arrays

    def recording(batch, layout):
        cxx_batches.append(batch)
        return wrap(batch, layout)

    monkeypatch.setattr(_engine, "block_arrays", recording)
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", clustered_file), batch_size=64,
                                 columns=["x", "y", "label"], target="label", set_seed=5)
    blocks = _cxx.cxx_namespace().EBlock
    if output == "torch":
        x, y = next(iter(loader.as_torch()))
        x_address, y_address = x.data_ptr(), y.data_ptr()
    else:
        x, y = next(iter(loader.as_numpy()))
        x_address, y_address = x.__array_interface__["data"][0], y.__array_interface__["data"][0]
    features = int(cxx_batches[-1].GetAddress(blocks.kFeatures))
    assert x_address == features
    assert y_address == int(cxx_batches[-1].GetAddress(blocks.kTargets))
    x[0, 0] = 12345.0
    assert ctypes.c_float.from_address(features).value == 12345.0
    ctypes.c_float.from_address(features + 4).value = -2.5  # row 0, column 1 (C order, float32)
    assert float(x[0, 1]) == -2.5


@pytest.mark.parametrize("read_threads", [0, 2], ids=["event_loop", "baskets"])
def test_standard_normalisation_is_numpys_on_every_reading_path(clustered_file, read_threads):
    """normalize="standard" delivers (x - mean) / std with the statistics of all entries (no split), the
    same whichever path reads the columns."""
    df = ROOT.RDataFrame("tree", clustered_file)
    raw = df.AsNumpy(["x", "y"])
    expected = np.stack([(raw[c] - raw[c].mean(dtype=np.float64)) / raw[c].std(dtype=np.float64)
                         for c in ("x", "y")], axis=1)
    loader = ROOT.ML.RDataLoader(df, batch_size=100, columns=["x", "y"], normalize="standard", shuffle=False,
                                 drop_remainder=False, read_threads=read_threads)
    delivered = np.concatenate(list(loader.as_numpy()))
    assert loader.stats()["read_paths"]["x"].startswith("TTree baskets" if read_threads else "event loop")
    np.testing.assert_allclose(delivered, expected, rtol=1e-5, atol=1e-6)


def test_a_class_present_only_in_validation_needs_a_weight_too(clustered_file):
    """Given class weights must cover the classes of both splits: here class 1 (odd idx) validates only."""
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", clustered_file), batch_size=10, columns=["x", "label"],
                                 target="label", class_weights={0: 1.0})
    with pytest.raises(ValueError, match=r"no weight to class 1, present in the data"):
        loader.train_test_split(split_key="idx", n_folds=2, fold=1)


#: Seed 2026 on `clustered_file` (1000 entries, 10 clusters), batches of 10, a window of 4 batches, 20 %
#: validation: per split and epoch, the first 12 idx delivered and sum(position x idx) over the whole epoch.
KNOWN_EPOCHS = {
    ("train", 0): ([900, 1, 3, 600, 700, 804, 504, 200, 202, 204, 902, 4], 172815450),
    ("train", 1): ([803, 100, 500, 3, 202, 204, 600, 602, 603, 604, 800, 802], 172800090),
    ("validation", 0): ([402, 404, 411, 413, 415, 300, 311, 312, 314, 319, 407, 417], 8237445),
    ("validation", 1): ([310, 312, 313, 314, 316, 317, 319, 401, 405, 407, 302, 306], 8299442),
}


def test_a_seed_gives_the_same_known_batches_on_every_platform(clustered_file):
    """The README promises bit-identical epochs for a seed whatever the platform: every random choice comes
    from SplitMix64 and integer arithmetic, never from the standard library's distributions or the thread
    timing. These epochs were recorded on x86-64 Linux (gcc 12, ROOT 6.40); any other platform, compiler
    or standard library must deliver them too, and a change to the shuffle, the split draw or the streams
    shows here as a changed known answer."""
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", clustered_file), batch_size=10, columns=["idx"],
                                 dtypes={"idx": "int64"}, set_seed=2026, batches_in_memory=4, drop_remainder=False)
    train, validation = loader.train_test_split(0.2)
    for name, split in (("train", train), ("validation", validation)):
        for epoch in range(2):
            idx = epoch_indices(split.as_numpy())
            assert np.array_equal(np.sort(idx), np.sort(np.unique(idx))), (name, epoch)  # each entry once
            first, weighted = KNOWN_EPOCHS[(name, epoch)]
            assert (idx[:12].tolist(), int(np.sum(idx * np.arange(len(idx))))) == (first, weighted), (name, epoch)
