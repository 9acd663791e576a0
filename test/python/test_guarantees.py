"""Guarantees of the README that no other test pins down, each checked against an independent reference
(NumPy, RDataFrame, the raw C++ batch memory, the process's resident memory, or a statistical law).
test/mutation.py relies on them to catch mutants that every other test lets through."""

from __future__ import annotations

import ctypes
import itertools
import json
import math
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import ROOT
import rdataloader
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
    """Validation entries are drawn from all over each dataframe by the seed, in blocks: over 10 clusters of 100
    entries (fewer than 32 units, so each is cut into 4 blocks of 25), a 10 % validation split is four blocks,
    others for other seeds. Uniform draws leave 3 of the 10 clusters out of all 12 seeds' splits with
    probability below 2e-6."""
    chosen, splits = set(), set()
    for seed in range(1, 13):
        _, val = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", clustered_file), batch_size=50, columns=["idx"],
                                     dtypes={"idx": "int64"}, set_seed=seed).train_test_split(0.1)
        seen = np.sort(epoch_indices(val.as_numpy()))
        assert len(seen) == 100 and len(np.unique(seen // 25)) == 4, seen
        chosen.update(int(c) for c in np.unique(seen // 100))
        splits.add(tuple(seen))
    assert len(chosen) >= 8 and len(splits) == 12, (chosen, len(splits))


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
    ("train", 0): ([600, 801, 803, 25, 525, 729, 279, 975, 977, 979, 602, 804], 160993225),
    ("train", 1): ([403, 200, 850, 928, 27, 29, 375, 377, 378, 379, 400, 402], 172153540),
    ("validation", 0): ([252, 254, 118, 120, 122, 509, 777, 60, 62, 67, 257, 506], 7870936),
    ("validation", 1): ([192, 194, 195, 196, 780, 781, 783, 785, 521, 523, 102, 106], 7443344),
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


#: The memory test's dataset: NOISE_COLUMNS float columns of noise (nothing for a compressor to find), stored
#: uncompressed in clusters of NOISE_CLUSTER entries, each column's basket holding one cluster: 229 MiB.
NOISE_ENTRIES, NOISE_COLUMNS, NOISE_CLUSTER = 3_000_000, 20, 20_000
MEMORY_BATCH = 4096
#: The bytes of one batch (float32 features only): 320 KiB.
MEMORY_BATCH_BYTES = MEMORY_BATCH * NOISE_COLUMNS * 4
#: The two shuffle windows, in batches: 7.8 and 62.5 MiB of batches, a 29th and a 4th of the dataset.
MEMORY_WINDOWS = (25, 200)
#: Per window entry, beside its batch bytes: the window's permutation of its slots (4 bytes) and each
#: position's destination (a batch pointer and a row, 16 bytes); see Detail/RShuffleBuffer.hxx.
WINDOW_INDEX_BYTES_PER_ENTRY = 20
#: What each stream's reader holds (README, Memory): a read's decoded entries (4 MiB, RSourceReader's
#: kBytesPerRead) and one basket per column, here one cluster of float32 values.
STREAM_READER_BYTES = (4 << 20) + NOISE_COLUMNS * NOISE_CLUSTER * 4
#: The README's reading budget: streams as many as about 64 MiB of reader buffers, or the window, afford.
STREAMS_BUDGET_BYTES = 64 << 20
#: Everything else an epoch may add: the consumer's batch, the TFile and TTree objects of the streams'
#: readers, the threads' stacks, Python's and NumPy's allocations, RSS noise.
MEMORY_SLACK_BYTES = 16 << 20
#: How long the consumer stalls after its first batch: the loading thread fills the next window (62.5 MiB
#: take well under 0.5 s here) and then blocks on the full queue.
MEMORY_STALL_S = 2.0

MEMORY_WORKER = r'''
import json
import sys
import time

import psutil

import ROOT
import rdataloader

config = json.loads(sys.argv[1])
process = psutil.Process()


def kernel_peak_reset():
    """Resets the kernel's peak RSS (VmHWM) to the current RSS; False where that cannot be done."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def kernel_peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def make(window):
    return ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", config["path"]), batch_size=config["batch_size"],
                               batches_in_memory=window, columns=config["columns"],
                               read_threads=config["read_threads"], set_seed=1)


# Cling compiles the epoch's code when the first epoch starts (seconds, and memory it keeps): one batch of a
# loader with the same column types does it before anything is measured.
warm_up = make(1)
batches = iter(warm_up.as_numpy())
next(batches)
batches.close()
warm_up.close()
del warm_up, batches

result = {"package": rdataloader.__file__, "windows": {}}
for window in config["windows"]:
    loader = make(window)
    kernel = kernel_peak_reset()
    base = peak = process.memory_info().rss
    batches = iter(loader.as_numpy())
    next(batches)
    # The stalled consumer: the queue fills, the next window is read, and the loading thread must block.
    stalled_until = time.monotonic() + config["stall_s"]
    while time.monotonic() < stalled_until:
        time.sleep(0.02)
        peak = max(peak, process.memory_info().rss)
    delivered = 1
    for _ in batches:  # each batch dropped when the next comes: the consumer keeps only the one in hand
        delivered += 1
        peak = max(peak, process.memory_info().rss)
    if kernel:
        peak = max(peak, kernel_peak())
    result["windows"][str(window)] = {"growth": peak - base, "delivered": delivered,
                                      "batches": loader.num_batches, "streams": loader.stats()["streams"],
                                      "kernel_peak": kernel}
    loader.close()
    del loader, batches
print("MEMORY " + json.dumps(result), flush=True)
'''


@pytest.fixture
def noise_file(tmp_path):
    """NOISE_ENTRIES x NOISE_COLUMNS float32 noise (229 MiB), written by a TTree directly in about 2 s: an
    RDataFrame Snapshot of as many columns took 9 s uncompressed, 15 s compressed. Removed after the test."""
    ROOT.gInterpreter.Declare(r"""
        #ifndef RDL_GUARANTEES_NOISE
        #define RDL_GUARANTEES_NOISE
        #include <TFile.h>
        #include <TTree.h>
        #include <cstdint>
        #include <string>
        #include <vector>
        namespace rdl_guarantees {
        void WriteNoise(const char *path, Long64_t entries, int columns, Long64_t cluster)
        {
           TFile file(path, "RECREATE", "", /*compress=*/0);
           TTree tree("tree", "noise");
           std::vector<float> values(columns);
           for (int c = 0; c < columns; ++c)
              tree.Branch(("x" + std::to_string(c)).c_str(), &values[c], ("x" + std::to_string(c) + "/F").c_str());
           tree.SetAutoFlush(cluster);
           std::uint64_t state = 0x9E3779B97F4A7C15ULL; // xorshift64
           for (Long64_t i = 0; i < entries; ++i) {
              for (auto &v : values) {
                 state ^= state << 13;
                 state ^= state >> 7;
                 state ^= state << 17;
                 v = static_cast<float>(state >> 40) * 0x1p-24f;
              }
              tree.Fill();
           }
           tree.Write();
        }
        }
        #endif
    """)
    path = tmp_path / "noise.root"
    ROOT.rdl_guarantees.WriteNoise(str(path), NOISE_ENTRIES, NOISE_COLUMNS, NOISE_CLUSTER)
    yield str(path)
    path.unlink()


def test_memory_stays_within_twice_the_window_on_a_dataset_many_times_larger(noise_file):
    """The README's `batches_in_memory`: "The loader holds about twice this (the window being filled plus
    finished batches)". The reference is a child process's resident memory: psutil's RSS, sampled at every
    batch and every 20 ms of a stall, and the kernel's peak (VmHWM, reset before each epoch where /proc
    allows it); never the loader's own accounting. The dataset is 229 MiB of batches, the windows 7.8 and
    62.5 MiB.

    By the code, an epoch holds at most: the queue of finished batches (its capacity is the window's
    batches), the window being filled (its batches allocated when it opens), the window's index (20 bytes
    per entry: a quarter of the batch bytes at 20 float columns), and each stream's reader (4 MiB of
    decoded entries and one basket per column; loader.stats()["streams"], 2 to 8, held by the README to
    about 64 MiB or the window). The consumer stalls after its first batch, the worst case: the loading
    thread fills the queue and the next window, then blocks. So each window's budget is 2 x its batch bytes
    + its index + its streams' readers + MEMORY_SLACK_BYTES. Measured here: 55-57 MiB against 78 at 7.8
    MiB, 159-161 MiB against 179 at 62.5 MiB (the peak is the stall's plateau, within 2 MiB from run to
    run; a busier machine only reads more slowly). A loader that held the dataset, or ignored
    `batches_in_memory` (48 MiB windows: 132 MiB), or queued finished batches without bound (265-273 MiB),
    exceeds a budget by 70 MiB or more; one whose queue held two windows, by 45 MiB (224 MiB).

    The second check is the slope: the larger window may cost at most 2.5 x its extra batch bytes more (2
    for the queue and the window, 0.25 for the index, the rest for the allocator's pages and noise). Its
    reading memory is not set aside: with both windows under 64 MiB the larger one has no more streams.

    The child's malloc returns every block of 64 KiB or more (batches, baskets, decoded columns) to the
    system when it is freed (MALLOC_MMAP_THRESHOLD_), so that the RSS before an epoch holds nothing an
    earlier epoch freed and kept for reuse, which would hide the growth. Cling compiles the epoch's code
    (hundreds of MiB, seconds) before anything is measured."""
    pytest.importorskip("psutil")
    columns = [f"x{c}" for c in range(NOISE_COLUMNS)]
    config = {"path": noise_file, "batch_size": MEMORY_BATCH, "columns": columns, "read_threads": 2,
              "windows": list(MEMORY_WINDOWS), "stall_s": MEMORY_STALL_S}
    # The child imports the package this process imported (PYTHONPATH=python is relative to the working
    # directory).
    package_root = str(Path(rdataloader.__file__).resolve().parents[1])
    paths = [package_root] + [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths), MALLOC_MMAP_THRESHOLD_=str(64 << 10))
    child = subprocess.run([sys.executable, "-c", MEMORY_WORKER, json.dumps(config)], capture_output=True,
                           text=True, timeout=300, env=env)
    lines = [line for line in child.stdout.splitlines() if line.startswith("MEMORY ")]
    assert child.returncode == 0 and lines, f"the child failed ({child.returncode}):\n{child.stderr[-4000:]}"
    result = json.loads(lines[-1][len("MEMORY "):])
    assert result["package"] == rdataloader.__file__, "the child imported another rdataloader"

    mib = 1 << 20
    held = {}  # per window: RSS growth, budget, streams
    for window in MEMORY_WINDOWS:
        measured = result["windows"][str(window)]
        assert measured["delivered"] == measured["batches"] == NOISE_ENTRIES // MEMORY_BATCH, measured
        window_bytes = window * MEMORY_BATCH_BYTES
        streams = measured["streams"]
        reading = streams * STREAM_READER_BYTES
        assert 2 <= streams <= 8 and (streams == 2 or reading <= max(STREAMS_BUDGET_BYTES, window_bytes)), measured
        budget = (2 * window_bytes + window * MEMORY_BATCH * WINDOW_INDEX_BYTES_PER_ENTRY + reading
                  + MEMORY_SLACK_BYTES)
        held[window] = (measured["growth"], budget, streams)
    report = "; ".join(f"window of {w * MEMORY_BATCH_BYTES / mib:.1f} MiB: RSS grew {g / mib:.1f} MiB, budget "
                       f"{b / mib:.1f} MiB ({s} streams)" for w, (g, b, s) in held.items())
    print(report)  # pytest -rP shows it
    for growth, budget, _ in held.values():
        assert growth <= budget, report
    (small_growth, _, small_streams), (large_growth, _, large_streams) = (held[w] for w in MEMORY_WINDOWS)
    assert large_streams <= small_streams, report
    extra = (MEMORY_WINDOWS[1] - MEMORY_WINDOWS[0]) * MEMORY_BATCH_BYTES
    assert large_growth - small_growth <= 2.5 * extra, report
