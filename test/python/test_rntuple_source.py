"""Reading RNTuple dataframes straight from their fields (``RNTupleSource``): which columns and
dataframes take that path, and that it delivers what an independent reader reads (RDataFrame's ``AsNumpy``,
or uproot for the file of every type) and exactly the batches RDataFrame's event loop delivers
(``read_threads=0``).

The files are small and written here: an RNTuple of every number type, RVec, std::vector and std::array
fields (RNTupleWriter), and NanoAOD-layout TTrees written with uproot and converted by RNTupleImporter
(``_collection0.Jet_pt`` members, projected ``Jet_pt`` fields, ``nJet`` cardinalities), in several files with
clusters of different sizes. cling compiles an engine per set of column types, so the tests share a few
column lists: the typed columns, the NanoAOD columns (also as collections, and with a Define in place of
MET_pt), and those of the CMS file."""

from __future__ import annotations

import json
import os
import signal
import time
import traceback

import numpy as np
import pytest

import ROOT

PAGES = "RNTuple pages"

# ----------------------------------------------------------------------------------------------------------
# Data


def _num_clusters(path: str, name: str = "Events") -> int:
    return ROOT.RNTupleReader.Open(name, path).GetDescriptor().GetNClusters()


def _field_type(path: str, field: str) -> str:
    descriptor = ROOT.RNTupleReader.Open("Events", path).GetDescriptor()
    return str(descriptor.GetFieldDescriptor(descriptor.FindFieldId(field)).GetTypeName())


ROOT.gInterpreter.Declare(r"""
#include <ROOT/RNTupleModel.hxx>
#include <ROOT/RNTupleWriteOptions.hxx>
#include <ROOT/RNTupleWriter.hxx>
#include <ROOT/RVec.hxx>
#include <array>
#include <cstdint>
#include <vector>
namespace rntuple_source_test {
template <typename V>
void Fill(V &v, std::uint64_t e, std::size_t n, double a, double b)
{
   v.resize(n);
   for (std::size_t k = 0; k < n; ++k)
      v[k] = static_cast<typename V::value_type>(a * e + b * k);
}
/// One field of every arithmetic type, RVec and std::vector fields of lengths 0 to 5, a std::array<float, 3>
/// and a nested RVec<RVec<float>>; the values are functions of the entry number e.
inline void WriteTyped(const char *path, std::uint64_t entries, std::size_t clusterBytes, bool wide)
{
   auto model = ROOT::RNTupleModel::Create();
   auto idx = model->MakeField<std::int64_t>("idx");
   auto bo = model->MakeField<bool>("bo");
   auto ch = model->MakeField<char>("ch");
   auto i8 = model->MakeField<std::int8_t>("i8");
   auto u8 = model->MakeField<std::uint8_t>("u8");
   auto i16 = model->MakeField<std::int16_t>("i16");
   auto u16 = model->MakeField<std::uint16_t>("u16");
   auto i32 = model->MakeField<std::int32_t>("i32");
   auto u32 = model->MakeField<std::uint32_t>("u32");
   auto i64 = model->MakeField<std::int64_t>("i64");
   auto u64 = model->MakeField<std::uint64_t>("u64");
   auto fl = model->MakeField<float>("fl");
   auto db = model->MakeField<double>("db");
   auto rvf = model->MakeField<ROOT::RVec<float>>("rvf");
   auto rvi = model->MakeField<ROOT::RVec<int>>("rvi");
   auto rvd = model->MakeField<ROOT::RVec<double>>("rvd");
   auto svf = model->MakeField<std::vector<float>>("svf");
   auto svi = model->MakeField<std::vector<int>>("svi");
   auto svd = model->MakeField<std::vector<double>>("svd");
   auto arr = model->MakeField<std::array<float, 3>>("arr");
   auto label = model->MakeField<int>("label");
   auto nested = model->MakeField<ROOT::RVec<ROOT::RVec<float>>>("nested");
   ROOT::RNTupleWriteOptions options;
   options.SetApproxZippedClusterSize(clusterBytes);
   auto writer = ROOT::RNTupleWriter::Recreate(std::move(model), "Events", path, options);
   for (std::uint64_t e = 0; e < entries; ++e) {
      const auto s = static_cast<std::int64_t>(e);
      *idx = s;
      *bo = e % 3 == 0;
      *ch = static_cast<char>(static_cast<int>(e % 200) - 100);
      *i8 = static_cast<std::int8_t>(static_cast<int>(e % 250) - 125);
      *u8 = static_cast<std::uint8_t>(e % 256);
      *i16 = static_cast<std::int16_t>(static_cast<int>((e * 37) % 65536) - 32768);
      *u16 = static_cast<std::uint16_t>((e * 41) % 65536);
      // Large integers that float32 holds exactly (the loader refuses those it would round)...
      *i32 = static_cast<std::int32_t>(-s * 1048576);
      *u32 = static_cast<std::uint32_t>(e * 2097152u);
      *i64 = (e % 2 ? -1 : 1) * s * (std::int64_t(1) << 40);
      *u64 = (std::uint64_t(1) << 63) + e * (std::uint64_t(1) << 40);
      // ... or, `wide`, one that needs more than float64's 53 bits: only an int64 output holds it.
      if (wide)
         *i64 = (e % 2 ? -1 : 1) * (s * (std::int64_t(1) << 44) + 1);
      *fl = static_cast<float>(e) * 0.25f - 100.f;
      *db = static_cast<double>(e) / 3.0;
      Fill(*rvf, e, e % 6, 1.0, 0.5);
      Fill(*rvi, e, (e * 7) % 5, -10.0, -1.0);
      Fill(*rvd, e, e % 5, 1.0 / 3.0, 0.1);
      Fill(*svf, e, (e + 1) % 6, 2.0, 0.25);
      Fill(*svi, e, (e + 2) % 5, 3.0, 1.0);
      Fill(*svd, e, (e + 3) % 6, 0.1, 1.0);
      *arr = {static_cast<float>(e), -static_cast<float>(e), 0.5f};
      *label = static_cast<int>(e % 2);
      *nested = {{1.f}, {2.f, static_cast<float>(e)}};
      writer->Fill();
   }
}
}
""")

TYPED_ENTRIES = 2000
# One number field of each arithmetic type: name -> the NumPy dtype of its values (exact).
SCALARS = {"idx": "int64", "bo": "bool", "ch": "int8", "i8": "int8", "u8": "uint8", "i16": "int16",
           "u16": "uint16", "i32": "int32", "u32": "uint32", "i64": "int64", "u64": "uint64", "fl": "float32",
           "db": "float64"}
# Vector fields: RVec, std::vector (on disk as such) and std::array; some entries are empty and some longer
# than MAX_LEN.
VECTORS = ["rvf", "rvi", "rvd", "svf", "svi", "svd", "arr"]
MAX_LEN = 3
TYPED_SIZES = {**{v: MAX_LEN for v in VECTORS}, "arr": 4}  # the array is padded, the others also truncated
TYPED_COLUMNS = list(SCALARS) + VECTORS + ["label"]
PADDING = -7.0


@pytest.fixture(scope="module")
def typed_file(tmp_path_factory) -> str:
    """An RNTuple of 2000 entries in several clusters (see WriteTyped)."""
    path = str(tmp_path_factory.mktemp("rntuple-typed") / "typed.root")
    ROOT.rntuple_source_test.WriteTyped(path, TYPED_ENTRIES, 16 * 1024, False)
    assert _num_clusters(path) >= 3
    return path


@pytest.fixture(scope="module")
def wide_file(tmp_path_factory) -> str:
    """The same, with i64 values beyond float64's 53 bits."""
    path = str(tmp_path_factory.mktemp("rntuple-wide") / "wide.root")
    ROOT.rntuple_source_test.WriteTyped(path, TYPED_ENTRIES, 16 * 1024, True)
    return path


def _write_nano_tree(path: str, entries: int, first: int, seed: int) -> None:
    """A NanoAOD-layout TTree (``nJet``, ``Jet_pt[nJet]``, ...): jets and muons, some events with none,
    some with more than the loader keeps."""
    import awkward as ak
    import uproot

    rng = np.random.default_rng(seed)
    jets = rng.poisson(2.5, entries)
    jets[::17] = 0
    jets[5::23] = 9
    muons = rng.poisson(1.2, entries)

    def jagged(counts, scale):
        return ak.unflatten((rng.random(int(counts.sum())) * scale).astype(np.float32), counts)

    idx = np.arange(first, first + entries, dtype=np.int64)
    branches = {
        "idx": idx,
        "MET_pt": (rng.random(entries) * 100).astype(np.float32),
        "Jet": ak.zip({"pt": jagged(jets, 100.0), "eta": jagged(jets, 5.0)}),
        "Muon": ak.zip({"pt": jagged(muons, 50.0), "eta": jagged(muons, 3.0)}),
        "label": (idx % 2).astype(np.int32),
    }
    with uproot.recreate(path) as f:
        f.mktree("Events", {name: (ak.type(v) if name in ("Jet", "Muon") else v.dtype)
                            for name, v in branches.items()})
        f["Events"].extend(branches)


def _import_rntuple(tree_path: str, path: str, cluster_bytes: int) -> str:
    importer = ROOT.Experimental.RNTupleImporter.Create(tree_path, "Events", path)
    options = ROOT.RNTupleWriteOptions()
    options.SetApproxZippedClusterSize(cluster_bytes)
    importer.SetWriteOptions(options)
    importer.SetIsQuiet(True)
    importer.Import()
    return path


NANO_SIZES = [1200, 2000, 800]


@pytest.fixture(scope="module")
def nano_files(tmp_path_factory) -> list[str]:
    """Three RNTupleImporter files of 1200, 2000 and 800 entries (idx 0..3999), with clusters of
    different sizes."""
    directory = tmp_path_factory.mktemp("rntuple-nano")
    files = []
    first = 0
    for i, (entries, cluster_bytes) in enumerate(zip(NANO_SIZES, [6 * 1024, 24 * 1024, 3 * 1024])):
        tree = str(directory / f"tree{i}.root")
        _write_nano_tree(tree, entries, first, seed=i + 1)
        files.append(_import_rntuple(tree, str(directory / f"nano{i}.root"), cluster_bytes))
        first += entries
    clusters = [_num_clusters(f) for f in files]
    assert min(clusters) >= 2 and len(set(clusters)) == 3, clusters
    return files


# The NanoAOD columns: flat numbers (nJet and nMuon are cardinality fields), a projected field and a
# member of a record collection per object. The collections of test_collections_* use the same columns
# in the same order, hence the same engine.
NANO_FLAT = ["idx", "MET_pt", "nJet", "nMuon", "label"]
NANO_JETS = ["Jet_pt", "_collection0.Jet_eta"]
NANO_MUONS = ["Muon_pt", "_collection1.Muon_eta"]
NANO_COLUMNS = NANO_FLAT + NANO_JETS + NANO_MUONS
NANO_SIZES_MAX = {"Jet_pt": 4, "_collection0.Jet_eta": 4, "Muon_pt": 2, "_collection1.Muon_eta": 2}

# ----------------------------------------------------------------------------------------------------------
# References and helpers


def _read_columns(df, columns) -> dict[str, list | np.ndarray]:
    """Each column as RDataFrame's AsNumpy reads it: a NumPy array of scalars, or a list of arrays (vectors)."""
    values = dict(df.AsNumpy(list(columns)))
    for c in columns:
        if values[c].dtype == object:
            values[c] = [np.asarray(v) for v in values[c]]
    return values


def _pad(vectors, width: int, padding: float = 0.0) -> np.ndarray:
    """Vectors padded with ``padding`` or truncated to ``width``, as float64 rows."""
    out = np.full((len(vectors), width), padding, dtype=np.float64)
    for row, v in enumerate(vectors):
        n = min(len(v), width)
        out[row, :n] = np.asarray(v, dtype=np.float64)[:n]
    return out


def _reference_matrix(values, columns, sizes, padding=0.0, dtype=np.float32) -> np.ndarray:
    """The rows the loader should deliver for ``columns`` (vectors padded/truncated per ``sizes``)."""
    parts = []
    for c in columns:
        v = values[c]
        if c in sizes:
            parts.append(_pad(v, sizes[c], padding).astype(dtype))
        else:
            parts.append(np.asarray(v).astype(dtype)[:, None])
    return np.hstack(parts)


def _all_batches(loader) -> list:
    """An epoch's batches as NumPy copies (tuples of arrays, or dictionaries with collections)."""
    out = []
    for batch in loader.as_numpy():
        parts = batch if isinstance(batch, tuple) else (batch,)
        out.append([{k: np.array(v) for k, v in p.items()} if isinstance(p, dict) else np.array(p) for p in parts])
    return out


def _assert_same_batches(a, b) -> None:
    assert len(a) == len(b), (len(a), len(b))
    for i, (x, y) in enumerate(zip(a, b)):
        assert len(x) == len(y)
        for u, v in zip(x, y):
            if isinstance(u, dict):
                assert u.keys() == v.keys()
                for k in u:
                    np.testing.assert_array_equal(u[k], v[k], err_msg=f"batch {i}, {k}")
            else:
                np.testing.assert_array_equal(u, v, err_msg=f"batch {i}")


def _epoch_rows(loader):
    """x, y of one epoch, concatenated."""
    xs, ys = [], []
    for x, y in loader.as_numpy():
        xs.append(np.array(x))
        ys.append(np.array(y))
    return np.concatenate(xs), np.concatenate(ys)


def _assert_read_from_pages(loader, entries: int, dropping_batch_size: int | None = None) -> None:
    """The last epoch read every column from pages: all ``entries`` of its split. ``stats()["entries"]``, the
    entries delivered, is all of them, or with drop_remainder (pass ``dropping_batch_size``) the whole batches."""
    stats = loader.stats()
    assert set(stats["read_paths"].values()) == {PAGES}, stats["read_paths"]
    assert stats["entries_from_sources"] == loader.num_entries == entries, (stats, loader.num_entries)
    delivered = entries if dropping_batch_size is None else entries // dropping_batch_size * dropping_batch_size
    assert stats["entries"] == delivered, (stats, delivered)


def _nano_loader(files, read_threads=2, df=None, **options):
    df = ROOT.RDataFrame("Events", files) if df is None else df
    settings = dict(batch_size=128, columns=NANO_COLUMNS, max_vec_sizes=NANO_SIZES_MAX, target="label",
                    vec_padding=PADDING, read_threads=read_threads)
    settings.update(options)
    return ROOT.ML.RDataLoader(df, **settings)


# ----------------------------------------------------------------------------------------------------------
# 1. Values of every kind


def _typed_loader(path, df=None, **options):
    settings = dict(batch_size=300, columns=TYPED_COLUMNS, max_vec_sizes=TYPED_SIZES, vec_padding=PADDING,
                    target="label", shuffle=False, drop_remainder=False)
    settings.update(options)
    return ROOT.ML.RDataLoader(ROOT.RDataFrame("Events", path) if df is None else df, **settings)


def _uproot_values(path) -> dict[str, list | np.ndarray]:
    """The typed fields as uproot reads them: an independent reader (RDataFrame's AsNumpy compiles a Take per
    type, 30 s for these 21 columns on a 2-core machine)."""
    import uproot

    arrays = uproot.open(path)["Events"].arrays(TYPED_COLUMNS, library="np")
    values = {c: arrays[c] if c not in VECTORS else [np.asarray(v) for v in arrays[c]] for c in TYPED_COLUMNS}
    values["ch"] = values["ch"].astype(np.uint8).view(np.int8)  # uproot reads char as uint8
    e = np.arange(TYPED_ENTRIES)
    # uproot reads what WriteTyped wrote.
    assert np.array_equal(values["idx"], e) and np.array_equal(values["ch"], e % 200 - 100)
    assert np.array_equal(values["bo"], e % 3 == 0)
    assert np.array_equal(values["u64"], np.uint64(2**63) + e.astype(np.uint64) * np.uint64(2**40))
    assert np.array_equal(values["arr"][7], [7, -7, 0.5]) and len(values["svi"][3]) == 0
    return values


@pytest.fixture(scope="module")
def typed_values(typed_file):
    return _uproot_values(typed_file)


def test_every_number_vector_and_array_field_is_read_from_pages_equal_to_rdataframe(typed_file, typed_values):
    loader = _typed_loader(typed_file)
    x, y = _epoch_rows(loader)
    features = [c for c in TYPED_COLUMNS if c != "label"]
    expected = _reference_matrix(typed_values, features, TYPED_SIZES, PADDING)
    assert x.dtype == np.float32 and x.shape == expected.shape
    for k, name in enumerate(loader.train_columns):
        np.testing.assert_array_equal(x[:, k], expected[:, k], err_msg=name)
    np.testing.assert_array_equal(y.ravel(), typed_values["label"])
    _assert_read_from_pages(loader, TYPED_ENTRIES)
    # The file really has what the test is about: empty entries, longer than kept, std::vector on disk.
    lengths = [len(v) for v in typed_values["rvf"]]
    assert min(lengths) == 0 and max(lengths) > MAX_LEN
    assert _field_type(typed_file, "svf") == "std::vector<float>"
    assert _field_type(typed_file, "arr") == "std::array<float,3>"


def test_every_number_type_is_exact_in_its_own_dtype(typed_file, wide_file, typed_values):
    # Each number field as the target in its own dtype, the other columns as float64 features; then an int64
    # beyond float64's 53 bits.
    for path, target, dtype in [(typed_file, name, dtype) for name, dtype in SCALARS.items()] + [
            (wide_file, "i64", "int64")]:
        values = typed_values if path == typed_file else _uproot_values(path)
        others = [c for c in TYPED_COLUMNS if c != target]
        loader = _typed_loader(path, target=target, dtypes={target: dtype, **{c: "float64" for c in others}})
        x, y = _epoch_rows(loader)
        assert y.dtype == np.dtype(dtype) and y.shape[0] == TYPED_ENTRIES, (target, y.dtype, y.shape)
        np.testing.assert_array_equal(y.reshape(-1), np.asarray(values[target]).astype(dtype), err_msg=target)
        expected = _reference_matrix(values, others, TYPED_SIZES, PADDING, dtype=np.float64)
        np.testing.assert_array_equal(x, expected, err_msg=f"features with target {target}")
        _assert_read_from_pages(loader, TYPED_ENTRIES)
    e = np.arange(TYPED_ENTRIES, dtype=np.int64)
    assert np.array_equal(values["i64"], np.where(e % 2, -1, 1) * (e * 2**44 + 1)) and values["i64"].max() > 2**53


@pytest.mark.parametrize("expression", ["", "idx % 5 != 0"], ids=["all", "filtered"])
def test_typed_fields_from_pages_and_event_loop_give_identical_batches(typed_file, expression):
    # A split cuts clusters, and the filter drops the first entry of some: reads that begin inside a cluster.
    def frame():
        df = ROOT.RDataFrame("Events", typed_file)
        return df.Filter(expression) if expression else df

    options = dict(shuffle=True, set_seed=3, batch_size=128, batches_in_memory=3)
    by_pages = _typed_loader(typed_file, df=frame(), **options).train_test_split(0.3)
    by_loop = _typed_loader(typed_file, df=frame(), read_threads=0, **options).train_test_split(0.3)
    entries = TYPED_ENTRIES - (TYPED_ENTRIES // 5 if expression else 0)
    for split_pages, split_loop, share in zip(by_pages, by_loop, (0.7, 0.3)):
        for _ in range(2):
            _assert_same_batches(_all_batches(split_pages), _all_batches(split_loop))
        _assert_read_from_pages(split_pages, round(entries * share))
        assert split_loop.stats()["entries_from_sources"] == 0
        assert set(split_loop.stats()["read_paths"].values()) == {"event loop (read_threads is 0)"}


@pytest.fixture(scope="module")
def nano_values(nano_files):
    return _read_columns(ROOT.RDataFrame("Events", nano_files), NANO_COLUMNS)


def test_importer_members_projections_and_cardinalities_equal_rdataframe(nano_files, nano_values):
    loader = _nano_loader(nano_files, shuffle=False, drop_remainder=False)
    x, y = _epoch_rows(loader)
    _assert_read_from_pages(loader, sum(NANO_SIZES))
    order = np.argsort(x[:, 0], kind="stable")
    features = [c for c in NANO_COLUMNS if c != "label"]
    expected = _reference_matrix(nano_values, features, NANO_SIZES_MAX, PADDING)
    np.testing.assert_array_equal(x[order], expected)
    np.testing.assert_array_equal(y.ravel()[order], nano_values["label"])
    # The cardinalities are the collections' sizes; some events have no jets, some more than kept.
    jets = np.array([len(v) for v in nano_values["Jet_pt"]])
    np.testing.assert_array_equal(nano_values["nJet"], jets)
    assert jets.min() == 0 and jets.max() > NANO_SIZES_MAX["Jet_pt"]
    assert _field_type(nano_files[0], "nJet") == "ROOT::RNTupleCardinality<std::uint32_t>"


# ----------------------------------------------------------------------------------------------------------
# 2. Many clusters, several files, splits and filters


def test_a_validation_split_of_several_files_is_read_from_pages_and_covers_every_entry(nano_files, nano_values):
    train, validation = _nano_loader(nano_files, shuffle=True, set_seed=9, drop_remainder=False,
                                     batches_in_memory=4).train_test_split(0.25)
    rows = []
    for split, entries in ((train, 3000), (validation, 1000)):
        x, y = _epoch_rows(split)
        _assert_read_from_pages(split, entries)
        rows.append(np.hstack([x, y.reshape(len(y), -1)]))
    _assert_rows_are_the_entries(rows, nano_values)


def _assert_rows_are_the_entries(rows: list[np.ndarray], values: dict) -> None:
    """The delivered rows (features then label), sorted by idx, are the NanoAOD columns' values, padded."""
    rows = np.concatenate(rows)
    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    features = [c for c in NANO_COLUMNS if c != "label"]
    expected = np.hstack([_reference_matrix(values, features, NANO_SIZES_MAX, PADDING),
                          values["label"].astype(np.float32)[:, None]])
    np.testing.assert_array_equal(rows, expected)


def test_filtered_files_read_from_pages_equal_rdataframe_and_the_event_loop(nano_files):
    df = ROOT.RDataFrame("Events", nano_files).Filter("nJet > 2")
    values = _read_columns(df, NANO_COLUMNS)
    entries = len(values["idx"])
    assert 0 < entries < sum(NANO_SIZES)
    options = dict(shuffle=True, set_seed=21, drop_remainder=False, batches_in_memory=2)
    by_pages = _nano_loader(nano_files, df=df, **options).train_test_split(0.3)
    by_loop = _nano_loader(nano_files, df=ROOT.RDataFrame("Events", nano_files).Filter("nJet > 2"), read_threads=0,
                           **options).train_test_split(0.3)
    rows = []
    # The documented split: round(test_size * N) entries validate (half away from zero), the rest train.
    validating = int(0.3 * entries + 0.5)
    for split_pages, split_loop, expected in zip(by_pages, by_loop, (entries - validating, validating)):
        batches = _all_batches(split_pages)
        _assert_same_batches(batches, _all_batches(split_loop))
        stats = split_pages.stats()
        assert stats["entries_from_sources"] == split_pages.num_entries == stats["entries"] == expected
        assert split_loop.stats()["entries_from_sources"] == 0
        rows += [np.hstack([x, y.reshape(len(y), -1)]) for x, y in batches]
    _assert_rows_are_the_entries(rows, values)


def test_a_filter_that_passes_nothing_gives_empty_epochs_and_a_warning(nano_files):
    df = ROOT.RDataFrame("Events", nano_files).Filter("nJet > 1000")
    with pytest.warns(UserWarning, match="no entries"):
        loader = _nano_loader(nano_files, df=df)
        assert list(loader.as_numpy()) == []
    assert list(loader.as_numpy()) == []
    assert loader.stats()["entries"] == 0


# ----------------------------------------------------------------------------------------------------------
# 3. The same batches whatever the path and the number of threads


@pytest.fixture(scope="module")
def event_loop_epochs(nano_files):
    """Two epochs of each split of the shuffled NanoAOD files, read by the event loop."""
    return _shuffled_epochs(nano_files, read_threads=0)


def _shuffled_epochs(files, read_threads):
    loader = _nano_loader(files, read_threads=read_threads, shuffle=True, set_seed=1234, batches_in_memory=3,
                          batch_size=100)
    epochs = []
    for split in loader.train_test_split(0.3):
        for _ in range(2):
            epochs.append(_all_batches(split))
            expected = PAGES if read_threads else "event loop (read_threads is 0)"
            assert set(split.stats()["read_paths"].values()) == {expected}
            assert split.stats()["entries_from_sources"] == (split.num_entries if read_threads else 0)
    return epochs


@pytest.mark.parametrize("read_threads", [1, 2])
def test_shuffled_split_epochs_are_identical_from_pages_on_any_threads_and_from_the_event_loop(
        nano_files, event_loop_epochs, read_threads):
    epochs = _shuffled_epochs(nano_files, read_threads)
    assert len(epochs) == len(event_loop_epochs) == 4
    for mine, reference in zip(epochs, event_loop_epochs):
        _assert_same_batches(mine, reference)
    # Two epochs of a split differ (reshuffled).
    assert not np.array_equal(epochs[0][0][0], epochs[1][0][0])


# ----------------------------------------------------------------------------------------------------------
# 4. Collections


def _collections_loader(files, layout, read_threads, **options):
    return ROOT.ML.RDataLoader(
        ROOT.RDataFrame("Events", files), batch_size=100, columns=NANO_FLAT, target="label",
        collections={"jets": (NANO_JETS, 4), "muons": (NANO_MUONS, 2)},
        sort_by={"jets": "Jet_pt", "muons": "Muon_pt"}, collections_layout=layout, vec_padding=PADDING,
        read_threads=read_threads, **options)


@pytest.mark.parametrize("layout", ["padded", "packed"])
def test_collections_from_pages_equal_the_event_loop(nano_files, layout):
    options = dict(shuffle=True, set_seed=77, batches_in_memory=3, drop_remainder=False)
    by_pages = _collections_loader(nano_files, layout, 2, **options)
    by_loop = _collections_loader(nano_files, layout, 0, **options)
    for _ in range(2):
        _assert_same_batches(_all_batches(by_pages), _all_batches(by_loop))
    _assert_read_from_pages(by_pages, sum(NANO_SIZES))
    assert by_pages.stats()["truncated_objects"] == by_loop.stats()["truncated_objects"]
    # Truncated objects: sum over entries of max(0, n - max_len), from the files' own vectors.
    values = _read_columns(ROOT.RDataFrame("Events", nano_files), ["Jet_pt", "Muon_pt"])
    beyond = {name: sum(max(0, len(v) - n) for v in values[column])
              for name, column, n in (("jets", "Jet_pt", 4), ("muons", "Muon_pt", 2))}
    assert by_pages.stats()["truncated_objects"] == beyond
    assert beyond["jets"] > 0  # the files do have entries of more than 4 jets, so truncation is exercised


def test_padded_collections_from_pages_hold_the_leading_objects(nano_files, nano_values):
    loader = _collections_loader(nano_files, "padded", 2, shuffle=False, drop_remainder=False)
    parts = {"features": [], "jets": [], "jets_mask": [], "muons": [], "muons_mask": []}
    for x, _ in loader.as_numpy():
        for key in parts:
            parts[key].append(np.array(x[key]))
    got = {k: np.concatenate(v) for k, v in parts.items()}
    _assert_read_from_pages(loader, sum(NANO_SIZES))
    order = np.argsort(got["features"][:, 0], kind="stable")
    for name, fields, max_len in (("jets", NANO_JETS, 4), ("muons", NANO_MUONS, 2)):
        key = nano_values[fields[0]]
        leading = [np.argsort(-np.asarray(k), kind="stable")[:max_len] for k in key]
        for f, field in enumerate(fields):
            expected = _pad([np.asarray(v)[i] for v, i in zip(nano_values[field], leading)], max_len, PADDING)
            np.testing.assert_array_equal(got[name][order, :, f], expected.astype(np.float32), err_msg=field)
        counts = np.minimum([len(k) for k in key], max_len)
        np.testing.assert_array_equal(got[f"{name}_mask"][order], np.arange(max_len)[None, :] < counts[:, None])


# ----------------------------------------------------------------------------------------------------------
# 5. What the source cannot read


def test_a_nested_vector_field_is_refused_with_a_type_error(typed_file):
    with pytest.raises(TypeError, match="nested"):
        ROOT.ML.RDataLoader(ROOT.RDataFrame("Events", typed_file), batch_size=10, columns=["idx", "nested"],
                            max_vec_sizes={"nested": 2})


def test_a_define_beside_fields_is_computed_by_the_event_loop_and_the_fields_read_from_pages(nano_files,
                                                                                             nano_values):
    # MET2 has MET_pt's type and takes its place: the same engine as the other NanoAOD tests.
    df = ROOT.RDataFrame("Events", nano_files).Define("MET2", "MET_pt * 2.f")
    columns = ["idx", "MET2"] + NANO_COLUMNS[2:]
    loader = _nano_loader(nano_files, df=df, columns=columns, shuffle=False, drop_remainder=False)
    x, y = _epoch_rows(loader)
    stats = loader.stats()
    assert stats["entries_from_sources"] == stats["entries"] == sum(NANO_SIZES)
    assert stats["read_paths"] == {c: "event loop (a Define)" if c == "MET2" else PAGES for c in columns}
    order = np.argsort(x[:, 0], kind="stable")
    values = dict(nano_values, MET2=nano_values["MET_pt"] * np.float32(2))
    expected = _reference_matrix(values, [c for c in columns if c != "label"], NANO_SIZES_MAX, PADDING)
    np.testing.assert_array_equal(x[order], expected)


# ----------------------------------------------------------------------------------------------------------
# 6. Real data

REAL_FILE = "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root"
REAL_COLUMNS = ["nMuon", "Muon_pt", "_collection0.Muon_eta", "Muon_charge"]
REAL_SIZES = {"Muon_pt": 3, "_collection0.Muon_eta": 3, "Muon_charge": 3}


def test_the_cms_open_data_rntuple_is_read_from_pages_equal_to_rdataframe(shared_file):
    path = shared_file(REAL_FILE)
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("Events", path), batch_size=64, columns=REAL_COLUMNS,
                                 max_vec_sizes=REAL_SIZES, shuffle=False, drop_remainder=False)
    x = np.concatenate([np.array(b) for b in loader.as_numpy()])
    _assert_read_from_pages(loader, 1000)
    values = _read_columns(ROOT.RDataFrame("Events", path), REAL_COLUMNS)
    np.testing.assert_array_equal(x, _reference_matrix(values, REAL_COLUMNS, REAL_SIZES))
    counts = np.array([len(v) for v in values["Muon_pt"]])
    np.testing.assert_array_equal(values["nMuon"], counts)
    assert counts.min() == 0 or counts.max() > 3


# ----------------------------------------------------------------------------------------------------------
# 7. Readers opened in a parent, reused by forked children


def test_forked_children_reopen_the_readers_and_read_the_parents_next_epoch(nano_files, tmp_path):
    # One file, so that each thread keeps its reader: a child must replace the readers its parent opened.
    loader = _nano_loader(nano_files[1], shuffle=True, set_seed=5, batches_in_memory=3)
    _all_batches(loader)  # the parent's readers are open
    children = {}
    for child in range(2):
        out = tmp_path / f"child{child}"
        pid = os.fork()
        if pid == 0:  # the child: one epoch, written to files, then exit without Python's cleanup
            status = 1
            try:
                batches = _all_batches(loader)
                np.savez(str(out) + ".npz", **{f"{i}_{j}": a for i, b in enumerate(batches) for j, a in enumerate(b)})
                out.with_suffix(".json").write_text(json.dumps(
                    {"batches": len(batches), "entries_from_sources": loader.stats()["entries_from_sources"],
                     "entries": loader.stats()["entries"]}))
                status = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(status)
        children[pid] = out
    statuses, deadline = {}, time.monotonic() + 120
    while len(statuses) < len(children) and time.monotonic() < deadline:
        for pid in children.keys() - statuses.keys():
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                statuses[pid] = os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    for pid in children.keys() - statuses.keys():  # hung: end it, then fail
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert statuses == {pid: 0 for pid in children}, statuses
    parent = _all_batches(loader)  # the parent's second epoch
    _assert_read_from_pages(loader, NANO_SIZES[1], dropping_batch_size=128)  # _nano_loader's batches
    for out in children.values():
        info = json.loads(out.with_suffix(".json").read_text())
        assert info["entries_from_sources"] == NANO_SIZES[1] and info["batches"] == len(parent)
        saved = np.load(str(out) + ".npz")
        _assert_same_batches([[saved[f"{i}_{j}"] for j in range(len(parent[i]))] for i in range(info["batches"])],
                             parent)
