"""``shuffle="global"``: the exact shuffle through a pile cache on local disk. Every entry once per
epoch, every batch a uniform sample of the split (however sorted the files), bounded memory, determinism,
the cache's place, size and removal, and the options it refuses."""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest

import ROOT
from conftest import epoch_indices

BATCH = 64


def sorted_loader(files, **kwargs):
    """The sorted signal + background files through a window of two batches, far smaller than the data."""
    kwargs.setdefault("set_seed", 9)
    kwargs.setdefault("batches_in_memory", 2)
    return ROOT.ML.RDataLoader([ROOT.RDataFrame("tree", f) for f in files], batch_size=BATCH,
                               columns=["idx", "x", "label"], target="label", **kwargs)


def epochs(batches, count=2) -> list[list[np.ndarray]]:
    return [[np.column_stack([x, y]).copy() for x, y in batches] for _ in range(count)]


def test_every_batch_is_a_uniform_sample_of_sorted_files(sorted_signal_background):
    exact = sorted_loader(sorted_signal_background, shuffle="global")
    for _ in range(2):
        means = np.array([y.mean() for _, y in exact.as_numpy()])
        assert exact.stats()["label_mix_r"] < 1.2
        assert not np.any((means == 0) | (means == 1))


@pytest.mark.parametrize("drop_remainder", [False, True])
def test_each_entry_once_per_epoch_and_a_new_order_every_epoch(sorted_signal_background, drop_remainder):
    loader = sorted_loader(sorted_signal_background, shuffle="global", drop_remainder=drop_remainder)
    batches = loader.as_numpy()
    orders = [epoch_indices(batches) for _ in range(3)]
    for order in orders:
        assert len(order) == len(np.unique(order)) == (3968 if drop_remainder else 4000)
        assert len(batches) == loader.num_batches == (62 if drop_remainder else 63)
    assert loader.last_batch_no_of_rows == 4000 % BATCH
    if not drop_remainder:
        assert np.array_equal(np.sort(orders[0]), np.arange(4000))
    else:
        # The dropped remainder is a different random handful every epoch.
        assert len({frozenset(np.setdiff1d(np.arange(4000), o)) for o in orders}) == 3
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])


def test_the_same_seed_gives_the_same_batches_and_another_seed_others(sorted_signal_background):
    first = epochs(sorted_loader(sorted_signal_background, shuffle="global").as_numpy())
    again = epochs(sorted_loader(sorted_signal_background, shuffle="global").as_numpy())
    other = epochs(sorted_loader(sorted_signal_background, shuffle="global", set_seed=10).as_numpy(), 1)
    assert all(np.array_equal(a, b) for e, f in zip(first, again) for a, b in zip(e, f))
    assert not all(np.array_equal(a, b) for a, b in zip(first[0], other[0]))


def test_splits_are_the_streaming_splits_each_read_once(sorted_signal_background):
    def split_entries(shuffle):
        train, validation = sorted_loader(sorted_signal_background, shuffle=shuffle,
                                          drop_remainder=False).train_test_split(0.25)
        return epoch_indices(train.as_numpy()), epoch_indices(validation.as_numpy()), validation

    train, validation, view = split_entries("global")
    streamed_train, streamed_validation, _ = split_entries(True)
    assert len(np.intersect1d(train, validation)) == 0 and len(train) + len(validation) == 4000
    assert np.array_equal(np.sort(validation), np.sort(streamed_validation))
    assert np.array_equal(np.sort(train), np.sort(streamed_train))
    assert os.path.basename(view.stats()["cache_dir"]).startswith("validation")


def test_cache_lives_in_cache_dir_at_the_reported_size_and_is_removed(sorted_signal_background, tmp_path):
    loader = sorted_loader(sorted_signal_background, shuffle="global", cache_dir=tmp_path)
    list(loader.as_numpy())
    first = loader.stats()
    piles = first["cache_dir"]
    assert os.path.dirname(os.path.dirname(piles)) == str(tmp_path)
    # One record per entry: idx (float32 as a feature), x, and the label.
    assert first["cache_bytes"] == 4000 * 3 * 4 == sum(e.stat().st_size for e in os.scandir(piles))
    assert first["bytes_read"] > 0 and "seconds_building_cache" in first
    list(loader.as_numpy())
    # Later epochs read the piles, not the ROOT files.
    assert loader.stats()["bytes_read"] == 0 and "seconds_building_cache" not in loader.stats()
    loader.close()
    assert os.listdir(tmp_path) == []

    forgotten = sorted_loader(sorted_signal_background, shuffle="global", cache_dir=tmp_path)
    list(forgotten.as_numpy())
    assert len(os.listdir(tmp_path)) == 1
    del forgotten
    gc.collect()
    assert os.listdir(tmp_path) == []


def test_memory_is_about_one_window_whatever_the_dataset(sorted_signal_background, tmp_path):
    loader = sorted_loader(sorted_signal_background, shuffle="global", cache_dir=tmp_path, batches_in_memory=4)
    list(loader.as_numpy())
    sizes = [e.stat().st_size // 12 for e in os.scandir(loader.stats()["cache_dir"])]
    # Piles of about one window (4 batches of 64 entries) each: what an epoch holds in memory at once.
    assert len(sizes) == 4000 // (4 * BATCH) + 1
    assert sum(sizes) == 4000 and max(sizes) < 2 * 4 * BATCH


# The loader of sorted_loader(files, shuffle="global", drop_remainder=False), as a C++ macro writes it: its
# batches' features and targets, row by row, for `epochs` epochs.
_CXX_LOADER = r"""
std::vector<float> rdl_test_global_shuffle(std::vector<ROOT::RDF::RNode> dfs, int epochs)
{
   ROOT::ML::RDataLoaderOptions o;
   o.fBatchSize = 64;
   o.fBatchesInMemory = 2;
   o.fSeed = 9;
   o.fTargets = {"label"};
   o.fShuffle = ROOT::ML::EShuffle::kGlobal;
   o.fDropRemainder = false;
   ROOT::ML::RDataLoader<Long64_t, float, int> loader(dfs, {"idx", "x", "label"}, o);
   std::vector<float> rows;
   for (int e = 0; e < epochs; ++e)
      for (const auto &batch : loader.Train()) {
         const auto x = batch.GetFeatures();
         const auto y = batch.GetTargets();
         for (std::size_t r = 0; r < batch.GetNumRows(); ++r)
            rows.insert(rows.end(), {x(r, 0), x(r, 1), y(r, 0)});
      }
   return rows;
}
"""


def test_a_cxx_macro_gets_the_batches_python_gets(sorted_signal_background):
    from rdataloader import _cxx

    _cxx.cxx_namespace()  # the engine's headers
    ROOT.gInterpreter.Declare(_CXX_LOADER)
    frames = ROOT.std.vector["ROOT::RDF::RNode"]()
    for path in sorted_signal_background:
        frames.push_back(ROOT.RDF.AsRNode(ROOT.RDataFrame("tree", path)))
    cxx = np.asarray(ROOT.rdl_test_global_shuffle(frames, 2)).reshape(-1, 3)
    loader = sorted_loader(sorted_signal_background, shuffle="global", drop_remainder=False)
    python = np.concatenate([np.column_stack([x, y]) for _ in range(2) for x, y in loader.as_numpy()])
    assert np.array_equal(cxx, python)
    # Two epochs of a uniform shuffle, not the file order twice.
    assert sorted(cxx[:4000, 0]) == list(range(4000)) and not np.array_equal(cxx[:4000, 0], cxx[4000:, 0])


def test_torch_batches_equal_numpy_batches(sorted_signal_background):
    torch = pytest.importorskip("torch")
    numpy_batches = epochs(sorted_loader(sorted_signal_background, shuffle="global").as_numpy(), 1)[0]
    torch_batches = [torch.column_stack([x, y]) for x, y in
                     sorted_loader(sorted_signal_background, shuffle="global").as_torch()]
    assert all(np.array_equal(a, t.numpy()) for a, t in zip(numpy_batches, torch_batches))


def test_padded_collections_keep_each_entry_with_its_objects(shared_file):
    from test_collections import HZZ, check_padded_batches, hzz_expected, hzz_loader

    path = shared_file(HZZ)
    ref, muons, jets = hzz_expected(path)
    loader = hzz_loader(path, shuffle="global", batches_in_memory=2, sort_by={"jets": "Jet_E"})
    seen = check_padded_batches(loader.as_numpy(), ref, muons, jets)
    assert np.array_equal(np.sort(seen), np.arange(2421)) and not np.array_equal(seen, np.arange(2421))


def test_an_error_while_building_the_cache_reaches_the_caller(sorted_signal_background):
    ROOT.gInterpreter.Declare(
        "float rdataloader_test_fail_in_cache(Long64_t i) { if (i == 1500) throw std::runtime_error(\"bad entry 1500\"); "
        "return i; }"
    )
    df = ROOT.RDataFrame("tree", sorted_signal_background[0]).Define("bad", "rdataloader_test_fail_in_cache(idx)")
    loader = ROOT.ML.RDataLoader(df, batch_size=BATCH, columns=["bad"], shuffle="global")
    with pytest.raises(RuntimeError, match="bad entry 1500"):
        list(loader.as_numpy())
    # Nothing half-built is kept: the next epoch builds the cache again and fails the same way.
    with pytest.raises(RuntimeError, match="bad entry 1500"):
        list(loader.as_numpy())


@pytest.mark.parametrize("kwargs, message, option", [
    ({"shuffle": "everywhere"}, "True, False or 'global'", None),
    ({"shuffle": "global", "load_eager": True}, "shuffle='global' cannot be combined with load_eager=True",
     "load_eager"),
    ({"shuffle": "global", "sampling_type": "undersampling"}, r"\(sampling_type\).* class_weights or reweight instead",
     "sampling_type"),
    ({"shuffle": "global", "world_size": 2, "rank": 0, "set_seed": 1}, "world_size > 1.*shuffle=True",
     "world_size"),
    ({"cache_dir": "/tmp"}, "cache_dir is where the exact shuffle keeps its piles; it needs shuffle='global'",
     "cache_dir"),
    ({"shuffle": "global", "cache_dir": "/no/such/directory"}, "not a writable directory", None),
])
def test_refused_options_name_the_way_out(sorted_signal_background, kwargs, message, option):
    """C++ decides (RDataLoaderOptions::Checked), and speaks in keywords: the error names the keyword at fault."""
    with pytest.raises(ValueError, match=message) as refused:
        sorted_loader(sorted_signal_background, **kwargs)
    assert getattr(refused.value, "option", None) == option
    assert "::" not in str(refused.value)  # no C++ name leaks into a Python user's message


def test_packed_collections_are_refused(shared_file):
    from test_collections import HZZ, hzz_loader

    with pytest.raises(ValueError, match="collections_layout='packed'.*use collections_layout='padded'") as refused:
        hzz_loader(shared_file(HZZ), shuffle="global", collections_layout="packed")
    assert refused.value.option == "collections"


def test_a_deleted_cache_is_built_again_with_a_warning(sorted_signal_background):
    import shutil

    loader = sorted_loader(sorted_signal_background, shuffle="global", drop_remainder=False)
    first = epoch_indices(loader.as_numpy())
    directory = loader.stats()["cache_dir"]
    shutil.rmtree(os.path.dirname(directory))  # as a cleaner of the temporary directory would
    with pytest.warns(RuntimeWarning, match="was deleted or changed since it was written; this epoch builds it"):
        second = epoch_indices(loader.as_numpy())
    third = epoch_indices(loader.as_numpy())
    for order in (first, second, third):
        assert np.array_equal(np.sort(order), np.arange(4000))
    assert not np.array_equal(second, first) and not np.array_equal(third, second)
    # The rebuilt cache gives what the original would have: the same epochs as an undisturbed loader.
    undisturbed = sorted_loader(sorted_signal_background, shuffle="global", drop_remainder=False)
    assert [epoch_indices(undisturbed.as_numpy()).tolist() for _ in range(3)] == [
        first.tolist(), second.tolist(), third.tolist()]


def test_a_pile_directory_that_cannot_be_made_raises_and_counts_no_epoch(sorted_signal_background, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    loader = sorted_loader(sorted_signal_background, shuffle="global", cache_dir=cache, drop_remainder=False)
    cache.rmdir()
    with pytest.raises(OSError, match=f"cannot make the directory {cache}/rdataloader-piles-"):
        list(loader.as_numpy())
    cache.mkdir()
    # The failed start counted no epoch: the next one is the first, as in an undisturbed loader.
    undisturbed = sorted_loader(sorted_signal_background, shuffle="global", drop_remainder=False)
    assert np.array_equal(epoch_indices(loader.as_numpy()), epoch_indices(undisturbed.as_numpy()))


FULL_DISK = """
import resource, signal, sys
import ROOT
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))  # each pile file holds 1.5 kB
loader = ROOT.ML.RDataLoader([ROOT.RDataFrame("tree", f) for f in sys.argv[2:]], batch_size=64,
                             columns=["idx", "x", "label"], target="label", set_seed=9, batches_in_memory=2,
                             shuffle="global", cache_dir=sys.argv[1])
try:
    list(loader.as_numpy())
except OSError as error:
    print("OSError:", error)
"""


def test_a_cache_that_cannot_be_written_names_cache_dir(sorted_signal_background, tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", FULL_DISK, str(tmp_path), *sorted_signal_background],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert f"the exact shuffle could not write its piles in {tmp_path}" in result.stdout
    assert "choose a directory on a disk with room (fCacheDirectory; cache_dir= in Python)" in result.stdout
