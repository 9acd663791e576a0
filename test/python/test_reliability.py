"""Hostile and unusual input, interruptions and long runs: the loader never hangs, leaks, or
silently drops or invents entries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ROOT
from conftest import epoch_indices, write_tree


@pytest.fixture(scope="session")
def odd_files(data_dir) -> dict[str, tuple[str, int, int]]:
    """name -> (path, entries, first index): a file of one entry, one of 1500 one-entry clusters,
    and two with ragged cluster sizes; indices are unique across all of them."""
    layout = {"single": (1, 1), "tiny_clusters": (1500, 1), "ragged": (333, 7), "large": (700, 250)}
    files, start = {}, 0
    for name, (entries, cluster) in layout.items():
        files[name] = (write_tree(data_dir / f"{name}.root", entries, first_index=start, cluster=cluster), entries,
                       start)
        start += entries
    return files


FILTERS = {"none": None, "all_pass": "idx >= 0", "none_pass": "idx < 0", "some": "idx % 5 != 2"}


def expected_indices(files, chosen, filter_name):
    indices = np.concatenate([np.arange(files[n][2], files[n][2] + files[n][1]) for n in chosen])
    if filter_name == "none_pass":
        return indices[:0]
    if filter_name == "some":
        return indices[indices % 5 != 2]
    return indices


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    chosen=st.lists(st.sampled_from(["single", "tiny_clusters", "ragged", "large"]), min_size=1, max_size=3,
                    unique=True),
    separate=st.booleans(),
    filter_name=st.sampled_from(sorted(FILTERS)),
    batch_size=st.integers(1, 700),
    batches_in_memory=st.one_of(st.none(), st.integers(1, 6)),
    test_size=st.one_of(st.none(), st.floats(0.05, 0.7)),
    split_by=st.sampled_from(["fraction", "key_hash", "key_folds"]),
    n_folds=st.integers(2, 4),
    fold=st.integers(0, 3),
    shuffle=st.sampled_from([False, True, "global"]),
    drop_remainder=st.booleans(),
    seed=st.integers(1, 2**40),
)
def test_any_configuration_covers_each_entry_once(odd_files, chosen, separate, filter_name, batch_size,
                                                  batches_in_memory, test_size, split_by, n_folds, fold, shuffle,
                                                  drop_remainder, seed):
    paths = [odd_files[n][0] for n in chosen]

    def frames():
        dfs = [ROOT.RDataFrame("tree", p) for p in paths] if separate else [ROOT.RDataFrame("tree", paths)]
        return [df.Filter(FILTERS[filter_name]) if FILTERS[filter_name] else df for df in dfs]

    def run():
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loader = ROOT.ML.RDataLoader(frames(), batch_size=batch_size, batches_in_memory=batches_in_memory,
                                         columns=["idx"], dtypes={"idx": "int64"}, shuffle=shuffle,
                                         drop_remainder=drop_remainder, set_seed=seed)
            if not test_size:
                splits = (loader,)
            elif split_by == "fraction":
                splits = loader.train_test_split(test_size)
            elif split_by == "key_hash":
                splits = loader.train_test_split(test_size, split_key="idx")
            else:
                splits = loader.train_test_split(split_key="idx", n_folds=n_folds, fold=fold % n_folds)
            return [(split, [b[:, 0].copy() for b in split.as_numpy()]) for split in splits]

    expected = expected_indices(odd_files, chosen, filter_name)
    first, second = run(), run()
    delivered = []
    for (split, batches), (_, again) in zip(first, second):
        assert all(len(b) == batch_size for b in batches[:-1])
        assert len(batches) == split.num_batches == len(split.as_numpy())
        entries = np.concatenate(batches) if batches else np.empty(0, np.int64)
        n = split.num_entries
        assert len(entries) == (n // batch_size * batch_size if drop_remainder else n)
        assert len(again) == len(batches) and all(np.array_equal(a, b) for a, b in zip(batches, again))
        delivered.append(entries)
    everything = np.concatenate(delivered)
    assert len(np.unique(everything)) == len(everything)
    assert set(everything) <= set(expected)
    assert sum(s.num_entries for s, _ in first) == len(expected)
    if test_size and split_by == "fraction":
        # The documented rule: round(test_size * N) entries validate, half away from zero (C++ llround).
        exact = test_size * len(expected)
        assert first[1][0].num_entries == int(np.floor(exact)) + (exact - np.floor(exact) >= 0.5)
    if test_size and split_by == "key_folds":
        validation = expected[expected % n_folds == fold % n_folds]
        assert first[1][0].num_entries == len(validation)
        assert set(delivered[1]) <= set(validation)
    if not drop_remainder:
        assert np.array_equal(np.sort(everything), np.sort(expected))


def test_nan_and_infinity_pass_through_unchanged():
    df = ROOT.RDataFrame(4).Define("v", "std::array<double, 4>{NAN, INFINITY, -INFINITY, 1.5}[rdfentry_]")
    x = next(iter(ROOT.ML.RDataLoader(df, batch_size=4, shuffle=False, columns=["v"]).as_numpy()))
    assert np.isnan(x[0, 0]) and x[1, 0] == np.inf and x[2, 0] == -np.inf and x[3, 0] == 1.5


def test_nan_into_an_integer_dtype_raises():
    df = ROOT.RDataFrame(4).Define("v", "rdfentry_ == 2 ? NAN : 1.0")
    with pytest.raises(RuntimeError, match="does not fit"):
        list(ROOT.ML.RDataLoader(df, batch_size=2, columns=["v"], dtypes={"v": "int32"}).as_numpy())


def test_two_loaders_over_the_same_files_at_once(odd_files):
    path = odd_files["tiny_clusters"][0]
    loaders = [ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", path), batch_size=50, columns=["idx"],
                                   dtypes={"idx": "int64"}, set_seed=s, drop_remainder=False) for s in (1, 2)]
    results = [None, None]

    def consume(i):
        results[i] = epoch_indices(loaders[i].as_numpy())

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    start = odd_files["tiny_clusters"][2]
    for r in results:
        assert np.array_equal(np.sort(r), np.arange(start, start + 1500))
    assert not np.array_equal(results[0], results[1])


def test_an_exception_in_the_training_step_leaves_the_loader_usable(odd_files):
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", odd_files["large"][0]), batch_size=10, columns=["idx"],
                                 dtypes={"idx": "int64"}, drop_remainder=False)
    with pytest.raises(ZeroDivisionError):
        for i, _ in enumerate(loader.as_numpy()):
            if i == 3:
                1 / 0
    assert len(epoch_indices(loader.as_numpy())) == 700


def _interrupt(script: str, wait_for: str, seconds_after: float) -> tuple[str, float]:
    """Run `script` in a child, send it SIGINT `seconds_after` seconds after it prints `wait_for`; returns its
    stdout and the seconds from the signal to its exit (failing the test, with its threads' stacks, on a hang)."""
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline().strip() == wait_for
    time.sleep(seconds_after)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        # A hang: fail with where every Python thread of the child stands.
        process.send_signal(signal.SIGUSR1)
        time.sleep(2)
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"no exit 30 s after SIGINT; stdout: {out[-500:]!r}; stacks:\n{err[-6000:]}")
    assert "interrupted" in out, err[-2000:]
    assert process.returncode == 0
    return out, time.monotonic() - sent


#: As a user's Python starts, whatever this suite inherited: a shell's background job runs with SIGINT ignored,
#: and a child inherits the signal mask of the thread that started it. SIGUSR1 prints every thread's stack.
_USER_SIGNALS = """
import faulthandler, signal, time
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
signal.signal(signal.SIGINT, signal.default_int_handler)
faulthandler.register(signal.SIGUSR1, all_threads=True)
"""


def test_sigint_while_a_slow_window_fills_stops_promptly(odd_files):
    # Each entry's Define sleeps 30 ms: the first batch waits for the whole window of 700 entries, 21 s.
    script = _USER_SIGNALS + textwrap.dedent(f"""
        import ROOT
        ROOT.gInterpreter.Declare("#include <thread>\\nfloat slow(Long64_t i) {{ "
                                  "std::this_thread::sleep_for(std::chrono::milliseconds(30)); return i; }}")
        df = ROOT.RDataFrame("tree", {odd_files['large'][0]!r}).Define("s", "slow(idx)")
        loader = ROOT.ML.RDataLoader(df, batch_size=100, columns=["s"])
        for _ in ROOT.ML.RDataLoader(df.Range(1), batch_size=1, columns=["s"], drop_remainder=False).as_numpy():
            pass  # the engine compiled: a signal while cling compiles can crash cppyy itself
        print("ready", flush=True)
        try:
            for batch in loader.as_numpy():
                print("a batch came first", flush=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """)
    out, seconds = _interrupt(script, "ready", 2.0)
    assert "a batch came first" not in out and seconds < 8, (out, seconds)


def test_sigint_during_an_epoch_stops_promptly(odd_files):
    script = _USER_SIGNALS + textwrap.dedent(f"""
        import ROOT
        loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", {odd_files['large'][0]!r}), batch_size=1,
                                     batches_in_memory=1, columns=["idx"])
        # "ready" once the engine is compiled: a signal while cling compiles can crash cppyy itself.
        batches = iter(loader.as_numpy())
        next(batches)
        print("ready", flush=True)
        try:
            while True:
                for batch in batches:
                    time.sleep(0.001)
                batches = iter(loader.as_numpy())
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """)
    _, seconds = _interrupt(script, "ready", 1.0)
    assert seconds < 10


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_soak_many_epochs_memory_threads_and_files_stay_flat(odd_files, request):
    epochs = 1000 if request.config.getoption("--run-slow") else 200
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", odd_files["ragged"][0]), batch_size=16,
                                 batches_in_memory=3, columns=["idx", "x"], set_seed=5)
    train, val = loader.train_test_split(0.2)
    for _ in range(5):  # warm up: compilation, allocator pools
        list(train.as_numpy())
        list(val.as_numpy())
    threads, descriptors = threading.active_count(), _open_descriptors()
    rss = []
    for _ in range(epochs):
        for batch in train.as_numpy():
            pass
        for i, batch in enumerate(val.as_numpy()):
            if i == 1:
                break
        rss.append(_rss_bytes())
    half = len(rss) // 2
    growth = np.median(rss[half:]) - np.median(rss[:half])
    assert growth < 2 * 1024 * 1024, f"RSS grew by {growth / 1e6:.1f} MB over {epochs} epochs"
    assert threading.active_count() == threads
    assert _open_descriptors() == descriptors
