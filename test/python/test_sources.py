"""Reading plain TTree branches a basket at a time (``read_threads``): which dataframes take that
path, and that it delivers exactly the batches RDataFrame's event loop delivers."""

from __future__ import annotations

import array
import os

import numpy as np
import pytest

import ROOT
from conftest import epoch_indices, write_tree


def _all_batches(loader) -> list[list[np.ndarray]]:
    return [[np.array(a) for a in batch] for batch in loader.as_numpy()]


def _same_batches(a, b) -> bool:
    return len(a) == len(b) and all(
        len(x) == len(y) and all(np.array_equal(u, v) for u, v in zip(x, y)) for x, y in zip(a, b)
    )


def _write_typed(path, entries: int, flush_every: int = 0) -> str:
    """One branch of each fundamental type, filled entry by entry; the values are those of
    test_every_fundamental_type_matches_its_values."""
    f = ROOT.TFile(str(path), "RECREATE")
    tree = ROOT.TTree("tree", "typed")
    buffers = {
        "f": (array.array("f", [0]), "F"), "d": (array.array("d", [0]), "D"), "i": (array.array("i", [0]), "I"),
        "u": (array.array("I", [0]), "i"), "s": (array.array("h", [0]), "S"), "l": (array.array("q", [0]), "L"),
        "b": (array.array("b", [0]), "O"), "c": (array.array("b", [0]), "B"),
    }
    for name, (buffer, code) in buffers.items():
        tree.Branch(name, buffer, f"{name}/{code}")
    for e in range(entries):
        buffers["f"][0][0] = e * 0.25
        buffers["d"][0][0] = -e * 1.5
        buffers["i"][0][0] = -e
        buffers["u"][0][0] = 3 * e
        buffers["s"][0][0] = (e % 600) - 300
        buffers["l"][0][0] = e * 10**10
        buffers["b"][0][0] = e % 3 == 0
        buffers["c"][0][0] = (e % 200) - 100
        tree.Fill()
        if flush_every and (e + 1) % flush_every == 0:
            tree.FlushBaskets()
    tree.Write()
    f.Close()
    return str(path)


def test_stored_columns_are_read_from_baskets_and_the_rest_by_the_event_loop(three_files):
    plain = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", three_files), batch_size=50, target="label")
    list(plain.as_numpy())
    assert plain.stats()["entries_from_sources"] == plain.stats()["entries"] == 1000

    filtered = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", three_files).Filter("idx % 4 != 0"), batch_size=50,
                                   target="label")
    list(filtered.as_numpy())
    assert filtered.stats()["entries_from_sources"] == filtered.stats()["entries"] == 750

    redefined = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", three_files).Redefine("x", "x * 2"), batch_size=50,
                                    target="label")
    list(redefined.as_numpy())
    assert redefined.stats()["entries_from_sources"] == 1000
    assert redefined.stats()["read_paths"]["x"] == "event loop (a Define)"
    assert redefined.stats()["read_paths"]["idx"] == "TTree baskets"

    off = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", three_files), batch_size=50, target="label", read_threads=0)
    list(off.as_numpy())
    assert off.stats()["entries_from_sources"] == 0


def _split_sizes(entries: int, test_size: float) -> tuple[int, int]:
    """(train, validation) entries by the documented rule: round(test_size * entries) validate, half away from 0."""
    validating = int(test_size * entries + 0.5)
    return entries - validating, validating


@pytest.fixture(scope="module")
def large_clusters(data_dir) -> list[str]:
    """Two files of 240k entries in clusters of 120k: 2.4 MB per cluster, enough for helper threads."""
    return [write_tree(data_dir / f"large{i}.root", 240_000, first_index=i * 240_000, cluster=120_000)
            for i in range(2)]


@pytest.mark.parametrize("read_threads", [1, 2, 3])
def test_baskets_and_event_loop_deliver_identical_batches(large_clusters, read_threads):
    options = dict(batch_size=1000, target="label", set_seed=11, drop_remainder=False, batches_in_memory=50)
    by_baskets = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", large_clusters), read_threads=read_threads, **options)
    by_loop = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", large_clusters), read_threads=0, **options)
    for split_baskets, split_loop, expected in zip(by_baskets.train_test_split(0.3), by_loop.train_test_split(0.3),
                                                   _split_sizes(480_000, 0.3)):
        for _ in range(2):
            assert _same_batches(_all_batches(split_baskets), _all_batches(split_loop))
        assert split_baskets.stats()["entries_from_sources"] == split_baskets.stats()["entries"] == expected


# Filters on a loaded column and on one that is not; one that leaves some clusters empty and others
# with a few entries cut out of their baskets.
FILTERS = ["idx % 3 != 1 && x > 100", "y < 2", "idx < 5000 || (idx > 300000 && idx % 97 == 0)"]


@pytest.mark.parametrize("expression", FILTERS)
@pytest.mark.parametrize("extra", [{}, {"class_weights": "balanced"}], ids=["columnar", "per_entry"])
def test_filtered_baskets_and_event_loop_deliver_identical_batches(large_clusters, expression, extra):
    options = dict(batch_size=1000, columns=["x", "idx", "label"], target="label", set_seed=5, drop_remainder=False,
                   batches_in_memory=20, **extra)
    by_baskets = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", large_clusters).Filter(expression), **options)
    by_loop = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", large_clusters).Filter(expression), read_threads=0,
                                  **options)
    passing = ROOT.RDataFrame("tree", large_clusters).Filter(expression).Count().GetValue()
    for split_baskets, split_loop, expected in zip(by_baskets.train_test_split(0.3), by_loop.train_test_split(0.3),
                                                   _split_sizes(passing, 0.3)):
        for _ in range(2):
            assert _same_batches(_all_batches(split_baskets), _all_batches(split_loop))
        assert split_baskets.stats()["entries_from_sources"] == split_baskets.stats()["entries"] == expected
        assert split_loop.stats()["entries_from_sources"] == 0


def test_a_split_by_key_is_read_from_baskets(large_clusters):
    options = dict(batch_size=500, columns=["idx", "x"], set_seed=2, drop_remainder=False)
    splits = {}
    for read_threads in (2, 0):
        loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", large_clusters), read_threads=read_threads, **options)
        splits[read_threads] = loader.train_test_split(split_key="idx", n_folds=4, fold=1)
    # Validation is idx % 4 == 1 among idx 0..479999: a quarter of the entries.
    for split_baskets, split_loop, expected in zip(splits[2], splits[0], (360_000, 120_000)):
        batches = _all_batches(split_baskets)
        assert _same_batches(batches, _all_batches(split_loop))
        assert split_baskets.stats()["entries_from_sources"] == split_baskets.stats()["entries"] == expected
    train, validation = (np.concatenate([np.array(b)[:, 0] for b in split.as_numpy()]) for split in splits[2])
    assert np.array_equal(np.sort(np.concatenate([train, validation])), np.arange(480_000))


def test_filters_run_once_not_every_epoch(clustered_file):
    ROOT.gInterpreter.Declare("""
        namespace rdataloader_test { int gFilterCalls = 0; }
        bool rdataloader_test_counted_filter(Long64_t idx) { ++rdataloader_test::gFilterCalls; return idx % 2; }
    """)
    df = ROOT.RDataFrame("tree", clustered_file).Filter("rdataloader_test_counted_filter(idx)")
    loader = ROOT.ML.RDataLoader(df, batch_size=50, columns=["idx"], dtypes={"idx": "int64"}, drop_remainder=False)
    for _ in range(3):
        indices = np.concatenate([b[:, 0] for b in loader.as_numpy()])
        assert np.array_equal(np.sort(indices), np.arange(1, 1000, 2))
        assert ROOT.rdataloader_test.gFilterCalls == 1000


@pytest.mark.parametrize("source", ["RDataFrame(n)", "Range"])
def test_a_whole_dataframes_loop_computes_each_define_about_once_per_epoch(clustered_file, source):
    # A dataframe without clusters is read by runs of its whole loop, each from its first entry: the Defines
    # of the entries a run skips are computed again. An epoch of 20,000 small entries is one run.
    ROOT.gInterpreter.Declare("""
        namespace rdataloader_test { long long gDefineCalls = 0; }
        float rdataloader_test_counted_define(float x) { ++rdataloader_test::gDefineCalls; return x; }
    """)
    if source == "Range":
        df = ROOT.RDataFrame(40_000).Define("x", "(float)rdfentry_").Range(20_000)
    else:
        df = ROOT.RDataFrame(20_000).Define("x", "(float)rdfentry_")
    df = df.Define("a", "rdataloader_test_counted_define(x)")
    loader = ROOT.ML.RDataLoader(df, batch_size=100, columns=["a"], drop_remainder=False)
    for _ in range(2):
        before = ROOT.rdataloader_test.gDefineCalls
        values = np.concatenate([b[:, 0] for b in loader.as_numpy()])
        assert np.array_equal(np.sort(values), np.arange(20_000, dtype=np.float32))
        assert ROOT.rdataloader_test.gDefineCalls - before <= 2 * 20_000


@pytest.fixture(scope="module")
def wide_file(data_dir) -> str:
    """60 double columns (480 bytes per entry): a 4 MiB read holds 8738 entries, fewer than a cluster
    (30000), and its ends fall inside baskets (about 6700 entries each)."""
    df = ROOT.RDataFrame(60_000).Define("idx", "(Long64_t)rdfentry_")
    for k in range(60):
        df = df.Define(f"c{k}", f"(double)idx * {k + 1}")
    options = ROOT.RDF.RSnapshotOptions()
    options.fAutoFlush = 30_000
    path = str(data_dir / "wide.root")
    df.Snapshot("tree", path, ["idx"] + [f"c{k}" for k in range(60)], options)
    return path


@pytest.mark.parametrize("expression", ["", "idx % 5 == 2 || (idx > 20000 && idx < 41000)"])
def test_clusters_larger_than_a_read_are_read_in_parts_each_basket_once(wide_file, expression):
    columns = [f"c{k}" for k in range(60)]
    df = ROOT.RDataFrame("tree", wide_file)
    df = df.Filter(expression) if expression else df
    loader = ROOT.ML.RDataLoader(df, batch_size=1000, columns=columns, shuffle=False, drop_remainder=False,
                                 dtypes={c: "float64" for c in columns})
    for _ in range(2):
        rows = np.concatenate([np.array(b) for b in loader.as_numpy()])
    idx = np.arange(60_000)
    if expression:
        idx = idx[(idx % 5 == 2) | ((idx > 20000) & (idx < 41000))]
    np.testing.assert_array_equal(rows, idx[:, None] * np.arange(1, 61, dtype=np.float64))
    assert loader.stats()["entries_from_sources"] == len(idx)
    # Every basket is decompressed once per epoch, also where a read ends inside it; besides the baskets, each
    # of the two reading threads reads the file's header when it opens it.
    before = ROOT.TFile.GetFileBytesRead()
    tree_file = ROOT.TFile.Open(wide_file)
    header = ROOT.TFile.GetFileBytesRead() - before
    tree = tree_file.Get("tree")
    baskets = sum(tree.GetBranch(c).GetZipBytes() for c in columns)
    assert loader.stats()["bytes_read"] == baskets + 2 * header


def test_every_fundamental_type_matches_its_values(data_dir):
    # Baskets flushed every 70 entries: reading units (clusters) hold several baskets, and a split
    # cuts through baskets.
    path = _write_typed(data_dir / "typed.root", 1000, flush_every=70)
    columns = ["f", "d", "i", "u", "s", "l", "b", "c"]
    dtypes = {c: "float64" for c in columns}
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", path), batch_size=100, columns=columns, shuffle=False,
                                 dtypes=dtypes)
    rows = np.concatenate([np.array(x) for x in loader.as_numpy()])
    assert loader.stats()["entries_from_sources"] == 1000
    e = np.arange(1000)
    expected = [e * 0.25, -e * 1.5, -e, 3 * e, e % 600 - 300, e * 10**10, e % 3 == 0, e % 200 - 100]
    for k, column in enumerate(columns):
        np.testing.assert_array_equal(rows[:, k], np.asarray(expected[k], dtype=np.float64), err_msg=column)


def test_a_tree_in_a_subdirectory_and_a_tree_object(data_dir, clustered_file):
    path = str(data_dir / "subdir.root")
    ROOT.RDataFrame(500).Define("idx", "(Long64_t)rdfentry_").Define("label", "(int)(idx % 2)").Snapshot(
        "events/tree", path, ["idx", "label"]
    )
    handle = ROOT.TFile.Open(clustered_file)
    for df, entries in ((ROOT.RDataFrame("events/tree", path), 500), (ROOT.RDataFrame(handle.Get("tree")), 1000)):
        loader = ROOT.ML.RDataLoader(df, batch_size=50, columns=["idx", "label"], target="label")
        assert sorted(epoch_indices(loader.as_numpy())) == list(range(entries))
        assert loader.stats()["entries_from_sources"] == entries


def test_friend_trees_go_through_the_event_loop(data_dir):
    main = write_tree(data_dir / "main_for_friend.root", 300)
    other = str(data_dir / "friend.root")
    ROOT.RDataFrame(300).Define("z", "(float)rdfentry_ * 3").Snapshot("extra", other, ["z"])
    chain = ROOT.TChain("tree")
    chain.Add(main)
    friend = ROOT.TChain("extra")
    friend.Add(other)
    chain.AddFriend(friend)
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame(chain), batch_size=30, columns=["idx", "extra.z", "label"],
                                 target="label", shuffle=False)
    x = np.concatenate([x for x, _ in loader.as_numpy()])
    assert loader.stats()["entries_from_sources"] == 0
    np.testing.assert_array_equal(x[:, 1], x[:, 0] * 3)


def test_the_reader_keeps_its_files_out_of_roots_list_of_files(clustered_file):
    # ROOT closes the files of that list when the process ends, which must not happen under a reader.
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", clustered_file), batch_size=50, target="label")
    list(loader.as_numpy())
    assert loader.stats()["entries_from_sources"] == 1000
    files = ROOT.gROOT.GetListOfFiles()
    assert clustered_file not in [files.At(i).GetName() for i in range(files.GetEntries())]


def test_a_file_removed_under_a_loader_raises_in_the_callers_thread(tmp_path):
    files = [write_tree(tmp_path / f"part{i}.root", 400, first_index=400 * i) for i in range(2)]
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", files), batch_size=50, target="label", shuffle=False)
    assert len(loader.as_numpy()) == 16  # the engine exists: the files were opened
    os.remove(files[0])
    with pytest.raises(RuntimeError, match="part0.root"):
        list(loader.as_numpy())


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_read_threads_is_validated(clustered_file, bad):
    with pytest.raises(ValueError, match="read_threads"):
        ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", clustered_file), batch_size=10, read_threads=bad)


def _read_listed(files: list[str], kind: str, expression: str, read_threads: int) -> dict:
    """Two epochs of train and one of validation of a TTree or TChain with a TEntryList selecting every 7th
    entry and the band 300 to 330 (lists both sparse and contiguous), filtered by `expression` if given."""
    opened = ROOT.TFile(files[0]) if kind == "tree" else None
    tree = opened.Get("tree") if opened else ROOT.TChain("tree")
    if not opened:
        for f in files:
            tree.Add(f)
    selection = ROOT.TEntryList("listed", "listed", tree)
    for entry, idx in enumerate(ROOT.RDataFrame(tree).AsNumpy(["idx"])["idx"]):
        if idx % 7 == 3 or 300 <= idx < 330:
            selection.Enter(entry, tree)
    tree.SetEntryList(selection)
    try:
        df = ROOT.RDataFrame(tree)
        if expression:
            df = df.Filter(expression)
        loader = ROOT.ML.RDataLoader(df, batch_size=16, columns=["idx", "x"],
                                     dtypes={"idx": "float64", "x": "float64"}, set_seed=3, drop_remainder=False,
                                     read_threads=read_threads)
        train, validation = loader.train_test_split(0.25)
        epochs = [[np.asarray(x)[:, 0].astype(int).tolist() for x in split.as_numpy()]
                  for split in (train, validation, train)]
        return {"count": int(df.Count().GetValue()), "reference": sorted(int(i) for i in df.AsNumpy(["idx"])["idx"]),
                "epochs": epochs, "from_sources": train.stats()["entries_from_sources"]}
    finally:
        # The tree refers to the list without owning it: unset it before Python deletes either.
        tree.SetEntryList(ROOT.nullptr)


@pytest.mark.parametrize("kind", ["tree", "chain"])
@pytest.mark.parametrize("expression", ["", "idx % 2 == 1"])
def test_an_entry_list_is_honoured_on_every_reading_path(three_files, kind, expression):
    # A TTree with SetEntryList wrapped in RDataFrame(tree) used to deliver every entry of the tree.
    runs = {read_threads: _read_listed(three_files, kind, expression, read_threads) for read_threads in (2, 0)
            if not (kind == "chain" and read_threads == 0)}
    first = 300 if kind == "tree" else 1000
    listed = [i for i in range(first) if (i % 7 == 3 or 300 <= i < 330) and (not expression or i % 2 == 1)]
    for read_threads, run in runs.items():
        assert run["count"] == len(run["reference"]) == len(listed) and run["reference"] == listed
        train, validation, train_again = (sum(epoch, []) for epoch in run["epochs"])
        assert sorted(train + validation) == listed and sorted(train_again) == sorted(train)
        assert len(validation) == round(0.25 * len(listed))
        assert run["from_sources"] == (len(train) if read_threads else 0)
    if kind == "tree":
        assert runs[2]["epochs"] == runs[0]["epochs"]  # the same batches whichever path reads them
    else:
        # ROOT's event loop over part of a listed TChain stops early: refused, with the way out.
        with pytest.raises(ValueError, match="is a TChain with a TEntryList, which ROOT's event loop cannot read in "
                                             "parts.*load only plain branches with read_threads > 0"):
            _read_listed(three_files, kind, expression, 0)
