"""The TTree source: every branch kind it reads straight from the baskets (NanoAOD leaf-list arrays with a
counter, unsplit std::vector and RVec branches, a basket kept in the TTree header), checked value by value
against RDataFrame's AsNumpy, and batch by batch against the same loader forced through the event loop
(``read_threads=0``); and what it cannot read, which must fall back to the event loop with a reason.

The files are written by a small C++ writer (declared once) into pytest's temporary directories: 2500
entries or fewer, 1 KiB baskets (several per cluster), entries with no objects, runs of empty entries and
entries with 300 jets (larger than a basket). Most tests share one engine signature (ALL) so that cling
compiles few engines."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import ROOT

WRITER = r"""
#include <TFile.h>
#include <TTree.h>
#include <vector>
namespace rdl_tree_source_test {
// layout 0: NanoAOD leaf-list arrays with counters nJet/I and nMuon/i; 1: the same content as unsplit
// std::vector branches (but Jet_isTight, a leaf list: std::vector<bool> is no array of numbers); 2: layout 0
// plus branches the source cannot read (x[3]/F, a Float16_t).
// finish 0: TTree::Write; 1: TTree::AutoSave only, so that the last baskets stay in the TTree header.
// compression < 0: ROOT's default; basketSize 0: ROOT's; autoflush 0: ROOT's. Returns the clusters written.
long long Write(const char *path, const char *treeName, int entries, int layout, int compression, int basketSize,
                long long autoflush, int finish, long long first)
{
   TFile f(path, "RECREATE");
   if (compression >= 0)
      f.SetCompressionSettings(compression);
   TTree t(treeName, treeName);
   if (autoflush != 0)
      t.SetAutoFlush(autoflush);
   constexpr int kMax = 400;
   Long64_t idx; Int_t nJet, label; UInt_t nMuon; Float_t MET_pt;
   Float_t Jet_pt[kMax], Jet_eta[kMax], Muon_pt[kMax]; Int_t Jet_jetId[kMax]; Double_t Jet_btag[kMax];
   Bool_t Jet_isTight[kMax]; UChar_t Jet_nConst[kMax]; Short_t Jet_hadFlav[kMax]; Long64_t Jet_id64[kMax];
   std::vector<float> vpt, veta, vmu; std::vector<int> vid; std::vector<double> vbtag;
   std::vector<UChar_t> vnconst; std::vector<Short_t> vflav; std::vector<Long64_t> vid64;
   Float_t fixed[3]; Float_t half;
   t.Branch("idx", &idx, "idx/L");
   t.Branch("label", &label, "label/I");
   t.Branch("MET_pt", &MET_pt, "MET_pt/F");
   t.Branch("nJet", &nJet, "nJet/I");
   t.Branch("nMuon", &nMuon, "nMuon/i");
   if (layout == 1) {
      t.Branch("Jet_pt", &vpt);
      t.Branch("Jet_eta", &veta);
      t.Branch("Jet_jetId", &vid);
      t.Branch("Jet_btag", &vbtag);
      t.Branch("Muon_pt", &vmu);
      t.Branch("Jet_isTight", Jet_isTight, "Jet_isTight[nJet]/O");
      t.Branch("Jet_nConst", &vnconst);
      t.Branch("Jet_hadFlav", &vflav);
      t.Branch("Jet_id64", &vid64);
   } else {
      t.Branch("Jet_pt", Jet_pt, "Jet_pt[nJet]/F");
      t.Branch("Jet_eta", Jet_eta, "Jet_eta[nJet]/F");
      t.Branch("Jet_jetId", Jet_jetId, "Jet_jetId[nJet]/I");
      t.Branch("Jet_btag", Jet_btag, "Jet_btag[nJet]/D");
      t.Branch("Jet_isTight", Jet_isTight, "Jet_isTight[nJet]/O");
      t.Branch("Jet_nConst", Jet_nConst, "Jet_nConst[nJet]/b");
      t.Branch("Jet_hadFlav", Jet_hadFlav, "Jet_hadFlav[nJet]/S");
      t.Branch("Jet_id64", Jet_id64, "Jet_id64[nJet]/L");
      t.Branch("Muon_pt", Muon_pt, "Muon_pt[nMuon]/F");
   }
   if (layout == 2) {
      t.Branch("fixed", fixed, "fixed[3]/F");
      t.Branch("half", &half, "half/f");
   }
   if (basketSize > 0)
      t.SetBasketSize("*", basketSize);
   for (int i = 0; i < entries; ++i) {
      const long long e = first + i;
      idx = e;
      label = int(e % 2);
      MET_pt = 0.5f * float(e % 1000) + 0.0078125f * float(e % 7);
      nJet = int((e * 7 + 3) % 6);
      if (e % 1999 == 7)
         nJet = 300; // an entry larger than a 1 KiB basket
      if (e >= 100 && e < 140)
         nJet = 0; // a run of entries without objects
      nMuon = unsigned((e * 5 + 1) % 4);
      for (int j = 0; j < nJet; ++j) {
         Jet_pt[j] = 20.f + 0.37f * float((e * 31 + j * 17) % 1000);
         Jet_eta[j] = -2.5f + 0.001f * float((e * 13 + j * 7) % 5000);
         Jet_jetId[j] = (j << 20) - int(e);
         Jet_btag[j] = double(e) * 1e-3 + j + 1. / 3.;
         Jet_isTight[j] = (e + j) % 3 == 0;
         Jet_nConst[j] = UChar_t((e * 13 + j) % 256);
         Jet_hadFlav[j] = Short_t((e * 97 + j * 1001) % 65536 - 32768);
         Jet_id64[j] = (e << 24) - j * 1000003LL;
      }
      for (unsigned j = 0; j < nMuon; ++j)
         Muon_pt[j] = 5.f + 0.25f * float((e * 3 + j) % 400);
      vpt.assign(Jet_pt, Jet_pt + nJet);
      veta.assign(Jet_eta, Jet_eta + nJet);
      vid.assign(Jet_jetId, Jet_jetId + nJet);
      vbtag.assign(Jet_btag, Jet_btag + nJet);
      vmu.assign(Muon_pt, Muon_pt + nMuon);
      vnconst.assign(Jet_nConst, Jet_nConst + nJet);
      vflav.assign(Jet_hadFlav, Jet_hadFlav + nJet);
      vid64.assign(Jet_id64, Jet_id64 + nJet);
      fixed[0] = float(e); fixed[1] = -float(e); fixed[2] = 0.5f * float(e);
      half = 0.25f * float(e % 64);
      t.Fill();
   }
   if (finish == 1)
      t.AutoSave();
   else
      t.Write();
   long long clusters = 0;
   auto it = t.GetClusterIterator(0);
   while (it.Next() < t.GetEntries())
      ++clusters;
   f.Close();
   return clusters;
}
}
"""

# Every NanoAOD leaf type: /L /I /i /F scalars (nJet/I and nMuon/i the counters), /I /D /F /O /b /S /L arrays.
# These column types, in this order, are the one engine signature of most tests (cling compiles an engine per
# signature): the collection test puts Jet_pt and Jet_eta, which come last, in a collection, and the fallback
# tests replace Jet_eta by another vector of floats.
ALL = ["idx", "nJet", "nMuon", "MET_pt", "Jet_jetId", "Jet_btag", "Muon_pt", "Jet_isTight", "Jet_nConst",
       "Jet_hadFlav", "Jet_id64", "Jet_pt", "Jet_eta"]
# 3 jets, 2 muons: entries with up to 5 jets (and 300) are truncated, entries with fewer are padded.
SIZES = {"Jet_jetId": 3, "Jet_btag": 3, "Muon_pt": 2, "Jet_pt": 3, "Jet_eta": 3, "Jet_isTight": 3,
         "Jet_nConst": 3, "Jet_hadFlav": 3, "Jet_id64": 3, "fixed": 3, "Jet_eta2": 3,
         "R_jetId": 3, "R_btag": 3, "R_mu": 2, "R_tight": 2, "R_nconst": 2, "R_flav": 3, "R_id64": 3, "R_pt": 3,
         "R_sel": 2,
         "Muon_Px": 3, "Muon_E": 3, "Muon_Charge": 3, "Jet_Px": 4, "Jet_ID": 4}
BASKETS = "TTree baskets"
DEFAULT, NONE, ZLIB, LZ4, ZSTD = -1, 0, 101, 404, 505
ENTRIES = 2500


@pytest.fixture(scope="module")
def write():
    if not hasattr(ROOT, "rdl_tree_source_test"):
        assert ROOT.gInterpreter.Declare(WRITER)

    def write_file(path, entries=ENTRIES, *, layout=0, compression=DEFAULT, basket_size=1024, autoflush=500,
                   autosave=False, first=0, tree="Events") -> str:
        ROOT.rdl_tree_source_test.Write(str(path), tree, entries, layout, compression, basket_size, autoflush,
                                        int(autosave), first)
        return str(path)

    return write_file


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return tmp_path_factory.mktemp("tree-source")


@pytest.fixture(scope="module")
def nano_file(write, files) -> str:
    """NanoAOD layout, ROOT's default compression, 5 clusters of 500 entries, 1 KiB baskets."""
    return write(files / "nano.root")


def options(columns, **extra) -> dict:
    """Loader options that make the batches comparable with AsNumpy: read in order, every entry, float64."""
    kwargs = dict(batch_size=256, columns=columns, shuffle=False, drop_remainder=False,
                  max_vec_sizes={c: n for c, n in SIZES.items() if c in columns}, vec_padding=-1,
                  dtypes={c: "float64" for c in columns})
    kwargs.update(extra)
    return kwargs


def expected_rows(df, columns) -> np.ndarray:
    """The loader's rows computed from AsNumpy: vectors padded with -1 or truncated to SIZES, in float64."""
    # Through an RNode, so that the Take actions AsNumpy books are compiled once for every dataframe.
    arrays = ROOT.RDF.AsRNode(df).AsNumpy(columns)
    blocks = []
    for c in columns:
        if c in SIZES:
            block = np.full((len(arrays[c]), SIZES[c]), -1.0)
            for i, values in enumerate(arrays[c]):
                kept = np.array([float(v) for v in values][: SIZES[c]], dtype=np.float64)
                block[i, : len(kept)] = kept
        else:
            block = np.asarray(arrays[c], dtype=np.float64)[:, None]
        blocks.append(block)
    return np.hstack(blocks)


def epoch(loader) -> list:
    """One epoch's batches, copied, as lists of arrays (dictionaries of arrays flattened in key order)."""
    batches = []
    for batch in loader.as_numpy():
        parts = batch if isinstance(batch, tuple) else (batch,)
        arrays = []
        for part in parts:
            if isinstance(part, dict):
                arrays += [(k, np.array(v)) for k, v in part.items()]
            else:
                arrays.append(("", np.array(part)))
        batches.append(arrays)
    return batches


def rows_of(batches) -> np.ndarray:
    return np.concatenate([b[0][1] for b in batches]) if batches else np.empty((0, 0))


def same_bytes(a, b) -> bool:
    return len(a) == len(b) and all(
        len(x) == len(y) and all(k == l and u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes()
                                 for (k, u), (l, v) in zip(x, y))
        for x, y in zip(a, b)
    )


def assert_read_from_baskets(loader, entries):
    stats = loader.stats()
    assert stats["entries"] == entries
    assert stats["entries_from_sources"] == entries
    assert set(stats["read_paths"].values()) == {BASKETS}, stats["read_paths"]


def assert_rows_match(rows, reference, entries):
    """``entries`` rows, each equal to the reference row of the same idx (column 0); the rows come in idx order."""
    assert len(rows) == entries
    position = np.searchsorted(reference[:, 0], rows[:, 0])
    assert np.all(position < len(reference))
    np.testing.assert_array_equal(reference[position, 0], rows[:, 0])
    assert np.all(np.diff(rows[:, 0]) > 0)
    np.testing.assert_array_equal(rows, reference[position])


def basket_starts(path, tree, branch) -> set[int]:
    f = ROOT.TFile.Open(path)
    b = f.Get(tree).GetBranch(branch)
    starts = {int(b.GetBasketEntry()[i]) for i in range(b.GetWriteBasket())}
    f.Close()
    return starts


def split_sizes(entries: int, test_size: float) -> tuple[int, int]:
    """(train, validation) entries by the documented rule: round(test_size * entries) validate, half away from 0."""
    validating = int(test_size * entries + 0.5)
    return entries - validating, validating


def check_split_values(df, columns, **extra):
    """A 30 % validation split read in order: both splits equal AsNumpy and come from the baskets; returns
    the first entry of the validation split."""
    reference = expected_rows(df, columns)
    train, validation = ROOT.ML.RDataLoader(df, validation_split=0.3, **options(columns, **extra))
    seen = []
    for split, entries in zip((train, validation), split_sizes(len(reference), 0.3)):
        rows = rows_of(epoch(split))
        assert_rows_match(rows, reference, entries)
        assert_read_from_baskets(split, entries)
        seen.append(rows[:, 0])
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), reference[:, 0])
    return int(seen[1][0])


# 1. Values of every branch kind


@pytest.mark.parametrize("compression", [DEFAULT, NONE, ZLIB, LZ4, ZSTD],
                         ids=["default", "uncompressed", "zlib", "lz4", "zstd"])
def test_nanoaod_leaf_list_arrays_of_every_type_equal_asnumpy(write, files, compression):
    path = write(files / f"nano_{compression}.root", compression=compression)
    first_validation = check_split_values(ROOT.RDataFrame("Events", path), ALL)
    # The validation split starts inside a basket of the jagged branches, not at a basket's start.
    assert first_validation not in basket_starts(path, "Events", "Jet_btag")
    f = ROOT.TFile.Open(path)
    tree = f.Get("Events")
    # Several baskets per cluster (500 entries).
    assert tree.GetBranch("Jet_btag").GetWriteBasket() > 2 * 5
    f.Close()


def test_std_vector_branches_equal_asnumpy(write, files):
    path = write(files / "vectors.root", layout=1, compression=LZ4)  # std::vector of 6 number types
    f = ROOT.TFile.Open(path)
    branch = f.Get("Events").GetBranch("Jet_btag")
    assert branch.IsA().GetName() == "TBranchElement" and branch.GetClassName() == "vector<double>"
    assert branch.GetWriteBasket() > 10
    f.Close()
    first_validation = check_split_values(ROOT.RDataFrame("Events", path), ALL)
    assert first_validation not in basket_starts(path, "Events", "Jet_btag")


@pytest.fixture(scope="module")
def snapshot_file(files, nano_file) -> str:
    """RVec columns of every type Define'd on the NanoAOD file and written by Snapshot (ZSTD, 1 KiB baskets, 3
    clusters), most of them selections of fewer objects than nJet."""
    snapshot = ROOT.RDF.RSnapshotOptions()
    snapshot.fAutoFlush = 900
    snapshot.fBasketSize = 1024
    snapshot.fCompressionAlgorithm = ROOT.RCompressionSetting.EAlgorithm.kZSTD
    snapshot.fCompressionLevel = 5
    path = str(files / "snapshot.root")
    df = ROOT.RDataFrame("Events", nano_file)
    for column, expression in SNAPSHOT_DEFINES.items():
        df = df.Define(column, expression)
    df.Snapshot("Events", path, SNAPSHOT, snapshot)
    return path


SNAPSHOT_DEFINES = {
    "R_jetId": "Jet_jetId * 3", "R_btag": "Jet_btag * 2", "R_mu": "Muon_pt[Muon_pt > 50]",
    "R_tight": "Jet_isTight[Jet_pt > 100]", "R_nconst": "Jet_nConst[Jet_pt > 100]",
    "R_flav": "Jet_hadFlav[Jet_eta > 0]", "R_id64": "Jet_id64[Jet_eta > 0]", "R_pt": "Jet_pt * 2",
    "R_sel": "Jet_eta[Jet_pt > 200]",
}
# The types of ALL, in its order.
SNAPSHOT = ["idx", "nJet", "nMuon", "MET_pt"] + list(SNAPSHOT_DEFINES)


def test_rvec_branches_written_by_snapshot_equal_asnumpy(snapshot_file):
    f = ROOT.TFile.Open(snapshot_file)
    tree = f.Get("Events")
    for column in SNAPSHOT_DEFINES:
        assert tree.GetBranch(column).IsA().GetName() == "TBranchElement", column
        assert "RVec<" in tree.GetBranch(column).GetClassName(), column
    branch = tree.GetBranch("R_pt")
    assert branch.GetWriteBasket() > 3
    f.Close()
    first_validation = check_split_values(ROOT.RDataFrame("Events", snapshot_file), SNAPSHOT)
    assert first_validation not in basket_starts(snapshot_file, "Events", "R_btag")


# 2. The basket kept in the TTree header


@pytest.mark.parametrize("layout", [0, 1], ids=["leaf_lists", "vectors"])
def test_entries_in_the_tree_header_basket_equal_asnumpy(write, files, layout):
    path = write(files / f"autosaved_{layout}.root", 2000, layout=layout, basket_size=0, autoflush=0,
                 autosave=True)
    columns = ALL
    f = ROOT.TFile.Open(path)
    tree = f.Get("Events")
    for column in columns:
        branch = tree.GetBranch(column)
        assert branch.GetBasketEntry()[branch.GetWriteBasket()] < branch.GetEntries(), column
    f.Close()
    df = ROOT.RDataFrame("Events", path)
    loader = ROOT.ML.RDataLoader(df, **options(columns))
    rows = rows_of(epoch(loader))
    np.testing.assert_array_equal(rows, expected_rows(df, columns))
    assert_read_from_baskets(loader, 2000)


# 3. The same batches whatever the reading path and the threads


def test_shuffled_batches_are_identical_with_one_two_and_no_reading_threads(nano_file):
    batches = {}
    for threads in (1, 2, 0):
        loader = ROOT.ML.RDataLoader(
            ROOT.RDataFrame("Events", nano_file), read_threads=threads, validation_split=0.25,
            **options(ALL, shuffle=True, set_seed=1234, batch_size=128, batches_in_memory=4))
        batches[threads] = [epoch(split) for _ in range(2) for split in loader]
        sizes = split_sizes(ROOT.RDataFrame("Events", nano_file).Count().GetValue(), 0.25)
        for split, entries in zip(loader, sizes):
            assert split.num_entries == entries
            if threads:
                assert_read_from_baskets(split, entries)
            else:
                assert split.stats()["entries_from_sources"] == 0
    assert not same_bytes(batches[1][0], batches[1][2])  # the two epochs are shuffled differently
    for threads in (2, 0):
        for a, b in zip(batches[1], batches[threads]):
            assert same_bytes(a, b), threads


# 4. Collections


@pytest.mark.parametrize("layout", ["padded", "packed"])
def test_sorted_collections_are_identical_from_baskets_and_event_loop(nano_file, layout):
    columns = ALL[:11]
    results = {}
    for threads in (2, 0):
        loader = ROOT.ML.RDataLoader(
            ROOT.RDataFrame("Events", nano_file), read_threads=threads,
            collections={"jets": (["Jet_pt", "Jet_eta"], 4)}, collections_layout=layout,
            sort_by={"jets": "Jet_pt"}, **options(columns, shuffle=True, set_seed=99, batch_size=200))
        results[threads] = (epoch(loader), loader.stats())
    (by_source, source_stats), (by_loop, loop_stats) = results[2], results[0]
    assert same_bytes(by_source, by_loop)
    assert source_stats["entries_from_sources"] == source_stats["entries"] == ENTRIES
    assert set(source_stats["read_paths"].values()) == {BASKETS}
    assert loop_stats["entries_from_sources"] == 0
    # The dropped jets counted independently: every jet beyond the 4th.
    n_jet = ROOT.RDataFrame("Events", nano_file).AsNumpy(["nJet"])["nJet"]
    truncated = int(np.maximum(n_jet - 4, 0).sum())
    assert source_stats["truncated_objects"] == loop_stats["truncated_objects"] == {"jets": truncated}
    # Sorted: within each entry, Jet_pt (field 0) never rises.
    for batch in by_source:
        arrays = dict(batch)
        if layout == "padded":
            pt, mask = arrays["jets"][..., 0], arrays["jets_mask"]
            assert np.all((pt[:, :-1] >= pt[:, 1:]) | ~mask[:, 1:])
        else:
            pt, offsets = arrays["jets"][:, 0], arrays["jets_offsets"]
            within = np.ones(max(len(pt) - 1, 0), dtype=bool)
            within[offsets[1:-1][(offsets[1:-1] > 0) & (offsets[1:-1] < len(pt))] - 1] = False
            assert np.all(np.diff(pt)[within] <= 0)


# 5. TChains


def test_chain_of_files_with_different_cluster_sizes_equals_asnumpy(write, files):
    paths = [write(files / "chain_a.root", 1200, autoflush=150),
             write(files / "chain_b.root", 1500, autoflush=800, first=1200, compression=LZ4)]
    df = ROOT.RDataFrame("Events", paths)
    loader = ROOT.ML.RDataLoader(df, **options(ALL))
    rows = rows_of(epoch(loader))
    np.testing.assert_array_equal(rows, expected_rows(df, ALL))
    assert_read_from_baskets(loader, 2700)


def test_chain_of_differently_named_trees_equals_asnumpy(write, files):
    a = write(files / "named_a.root", 1000, tree="t1")
    b = write(files / "named_b.root", 1200, first=1000, tree="t2", autoflush=300)
    chain = ROOT.TChain("t1")
    chain.Add(f"{a}/t1")
    chain.Add(f"{b}/t2")
    df = ROOT.RDataFrame(chain)
    loader = ROOT.ML.RDataLoader(df, **options(ALL))
    rows = rows_of(epoch(loader))
    np.testing.assert_array_equal(rows, expected_rows(ROOT.RDataFrame(chain), ALL))
    assert_read_from_baskets(loader, 2200)


# 6. Filters


def test_filter_on_a_jagged_column_reads_from_baskets_what_the_event_loop_reads(nano_file):
    df = ROOT.RDataFrame("Events", nano_file).Filter("nJet > 2 && Jet_pt[0] > 100")
    reference = expected_rows(df, ALL)
    assert 0 < len(reference) < ENTRIES
    results = {}
    for threads in (2, 0):
        loader = ROOT.ML.RDataLoader(df, read_threads=threads, **options(ALL))
        results[threads] = epoch(loader)
        if threads:
            assert_read_from_baskets(loader, len(reference))
    assert same_bytes(results[2], results[0])
    np.testing.assert_array_equal(rows_of(results[2]), reference)


def test_filter_passing_nothing_gives_an_empty_epoch_and_a_warning(nano_file):
    df = ROOT.RDataFrame("Events", nano_file).Filter("nJet > 1000")
    with pytest.warns(UserWarning, match="no entries"):
        loader = ROOT.ML.RDataLoader(df, **options(ALL))
        assert len(loader.as_numpy()) == 0
    outcome = {}

    def run():
        try:
            outcome["batches"] = epoch(loader)
        except BaseException as error:  # reported below
            outcome["error"] = error

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(60)
    assert not thread.is_alive(), "the empty epoch hangs"
    assert "error" not in outcome, outcome.get("error")
    assert outcome["batches"] == []
    assert loader.stats()["entries"] == 0


# 7. What the source cannot read goes through the event loop


@pytest.fixture(scope="module")
def fallback_file(write, files) -> str:
    return write(files / "fallback.root", 1500, layout=2)


def test_an_unreadable_vector_column_falls_back_to_the_event_loop_with_equal_values(fallback_file):
    df = ROOT.RDataFrame("Events", fallback_file)
    columns = ALL[:-1] + ["fixed"]
    loader = ROOT.ML.RDataLoader(df, **options(columns))
    rows = rows_of(epoch(loader))
    np.testing.assert_array_equal(rows, expected_rows(df, columns))
    stats = loader.stats()
    assert stats["entries_from_sources"] == 0
    assert set(stats["read_paths"].values()) == {"event loop (column 'fixed' is a fixed-size array)"}, \
        stats["read_paths"]


def test_a_float16_branch_falls_back_to_the_event_loop_with_equal_values(fallback_file):
    df = ROOT.RDataFrame("Events", fallback_file)
    columns = ["idx", "half"]
    loader = ROOT.ML.RDataLoader(df, **options(columns))
    rows = rows_of(epoch(loader))
    np.testing.assert_array_equal(rows, expected_rows(df, columns))
    stats = loader.stats()
    assert stats["entries_from_sources"] == 0
    path = stats["read_paths"]["half"]
    assert path.startswith("event loop (") and "half" in path and "Float16_t" in path, path


# 8. A real file


HZZ = ["NMuon", "NJet", "MET_px", "EventWeight", "Muon_Px", "Muon_E", "Muon_Charge", "Jet_Px", "Jet_ID"]


def test_hzz_jagged_columns_are_read_from_baskets_and_equal_rdataframe(shared_file):
    path = shared_file("uproot-HZZ.root")
    df = ROOT.RDataFrame("events", path)
    loader = ROOT.ML.RDataLoader(df, **options(HZZ, batch_size=500))
    rows = rows_of(epoch(loader))
    np.testing.assert_array_equal(rows, expected_rows(df, HZZ))
    assert_read_from_baskets(loader, 2421)


# 8. Defines beside stored columns: the event loop computes the Defines, the baskets give the rest


DEFINED = {"Jet_eta2": "Jet_eta * 2", "HT": "Sum(Jet_pt)"}


def test_defines_come_from_the_event_loop_and_branches_from_baskets_with_the_same_batches(nano_file):
    df = ROOT.RDataFrame("Events", nano_file).Filter("nJet > 1")
    for name, expression in DEFINED.items():
        df = df.Define(name, expression)
    columns = ALL[:-1] + list(DEFINED)
    np.testing.assert_array_equal(rows_of(epoch(ROOT.ML.RDataLoader(df, **options(columns)))),
                                  expected_rows(df, columns))
    batches = {}
    for threads in (1, 2, 0):
        loader = ROOT.ML.RDataLoader(df, read_threads=threads, validation_split=0.25,
                                     **options(columns, shuffle=True, set_seed=99, batch_size=100, batches_in_memory=3))
        batches[threads] = [epoch(split) for _ in range(2) for split in loader]
        for split, entries in zip(loader, split_sizes(df.Count().GetValue(), 0.25)):
            stats = split.stats()
            assert stats["entries"] == entries
            assert stats["entries_from_sources"] == (entries if threads else 0)
            expected = {c: "event loop (a Define)" if c in DEFINED else BASKETS for c in columns}
            assert stats["read_paths"] == (expected if threads else dict.fromkeys(columns, "event loop (read_threads is 0)"))
    for threads in (2, 0):
        for a, b in zip(batches[1], batches[threads]):
            assert same_bytes(a, b), threads


def test_a_redefined_branch_is_computed_not_read_from_its_basket(nano_file):
    df = ROOT.RDataFrame("Events", nano_file).Redefine("MET_pt", "MET_pt + 1000.f")
    columns = ["idx", "MET_pt", "Jet_pt"]
    loader = ROOT.ML.RDataLoader(df, **options(columns))
    rows = rows_of(epoch(loader))
    np.testing.assert_array_equal(rows, expected_rows(df, columns))
    assert np.all(rows[:, 1] >= 1000)
    assert loader.stats()["read_paths"] == {"idx": BASKETS, "MET_pt": "event loop (a Define)", "Jet_pt": BASKETS}

