"""Column types, dtypes, vector columns and real CMS files: values checked against RDataFrame.AsNumpy."""

from __future__ import annotations

import numpy as np
import pytest

import ROOT

ENTRY = np.arange(100)
# name: (C++ type, Define expression, the values as NumPy computes them)
ARITHMETIC = {
    "b": ("bool", "rdfentry_ % 2 == 0", ENTRY % 2 == 0),
    "c": ("char", "(char)(rdfentry_ % 100)", ENTRY % 100),
    "uc": ("unsigned char", "(unsigned char)(rdfentry_ % 200)", ENTRY % 200),
    "s": ("short", "(short)(-(int)rdfentry_)", -ENTRY),
    "us": ("unsigned short", "(unsigned short)rdfentry_", ENTRY),
    "i": ("int", "(int)rdfentry_ - 50", ENTRY - 50),
    "ui": ("unsigned int", "(unsigned int)rdfentry_", ENTRY),
    "l": ("Long64_t", "(Long64_t)rdfentry_ * 3", ENTRY * 3),
    "ul": ("ULong64_t", "(ULong64_t)rdfentry_", ENTRY),
    "f": ("Float_t", "(Float_t)rdfentry_ / 4", ENTRY / 4),
    "d": ("double", "(double)rdfentry_ / 8", ENTRY / 8),
}


def every_type_frame():
    df = ROOT.RDataFrame(len(ENTRY))
    for name, (cxx, expression, _) in ARITHMETIC.items():
        df = df.Define(name, f"({cxx})({expression})")
    return df


def single_batch(loader):
    batches = list(loader.as_numpy())
    assert len(batches) == 1
    return batches[0]


def test_every_arithmetic_type_arrives_as_float32():
    df = every_type_frame()
    loader = ROOT.ML.RDataLoader(df, batch_size=100, shuffle=False, columns=list(ARITHMETIC))
    x = single_batch(loader)
    assert x.dtype == np.float32 and x.shape == (100, len(ARITHMETIC))
    for i, (name, (_, _, expected)) in enumerate(ARITHMETIC.items()):
        assert np.array_equal(x[:, i], expected.astype(np.float32)), name


def test_requested_dtype_is_exact_without_float_round_trip():
    big = 2**40 + 1
    df = ROOT.RDataFrame(10).Define("event", f"(Long64_t){big}LL + (Long64_t)rdfentry_").Define("x", "1.f")
    x, y = single_batch(ROOT.ML.RDataLoader(df, batch_size=10, shuffle=False, columns=["x", "event"],
                                            target="event", dtypes={"event": "int64"}))
    assert y.dtype == np.int64 and y.shape == (10,)
    assert np.array_equal(y, big + np.arange(10))


def test_value_out_of_range_for_dtype_raises():
    df = ROOT.RDataFrame(10).Define("v", "(int)rdfentry_ * 100")
    loader = ROOT.ML.RDataLoader(df, batch_size=5, columns=["v"], dtypes={"v": "int8"})
    with pytest.raises(RuntimeError, match="does not fit"):
        list(loader.as_numpy())


@pytest.mark.parametrize("read_threads", [0, 2])
@pytest.mark.parametrize("dtype, exact, rounded", [("float64", 2**53, 2**53 + 1), ("float32", 2**24, 2**24 + 1)])
def test_an_integer_that_a_float_dtype_would_round_is_refused(tmp_path, read_threads, dtype, exact, rounded):
    # A float64 output of an int64 above 2**53 used to round silently (float32: above 2**24).
    path = str(tmp_path / "big.root")
    ROOT.RDataFrame(4).Define("n", f"rdfentry_ < 3 ? (Long64_t){exact}LL - (Long64_t)rdfentry_ : (Long64_t){rounded}LL"
                              ).Snapshot("tree", path)
    df = ROOT.RDataFrame("tree", path)
    exact_only = ROOT.ML.RDataLoader(df.Range(3) if read_threads == 0 else df.Filter("rdfentry_ < 3"), batch_size=3,
                                     shuffle=False, columns=["n"], dtypes={"n": dtype}, read_threads=read_threads)
    assert single_batch(exact_only)[:, 0].tolist() == [exact, exact - 1, exact - 2]
    loader = ROOT.ML.RDataLoader(df, batch_size=4, columns=["n"], dtypes={"n": dtype}, read_threads=read_threads)
    with pytest.raises(RuntimeError, match=rf"value {rounded} of integer column 'n' cannot be stored exactly as "
                                           rf"{dtype}.*request an integer dtype"):
        list(loader.as_numpy())


def test_features_with_different_dtypes_are_refused():
    df = ROOT.RDataFrame(10).Define("a", "1").Define("b", "2")
    with pytest.raises(TypeError, match="one dtype"):
        ROOT.ML.RDataLoader(df, columns=["a", "b"], dtypes={"a": "int64"})


def test_vector_columns_are_padded_and_truncated():
    df = ROOT.RDataFrame(6).Define("v", "ROOT::RVecF v(rdfentry_); for (auto &e : v) e = rdfentry_; return v;")
    df = df.Define("s", "std::vector<double>{1., 2.}")
    loader = ROOT.ML.RDataLoader(df, batch_size=6, shuffle=False, columns=["v", "s"],
                                 max_vec_sizes={"v": 3, "s": 1}, vec_padding=-1)
    x = single_batch(loader)
    assert loader.columns == ["v_0", "v_1", "v_2", "s_0"]
    expected_v = [[-1, -1, -1], [1, -1, -1], [2, 2, -1], [3, 3, 3], [4, 4, 4], [5, 5, 5]]
    assert np.array_equal(x[:, :3], np.array(expected_v, dtype=np.float32))
    assert np.array_equal(x[:, 3], np.ones(6, dtype=np.float32))


def test_real_hzz_file_matches_asnumpy(shared_file):
    path = shared_file("uproot-HZZ.root")
    columns = ["NJet", "MET_px", "Jet_Px", "Jet_ID", "EventWeight"]
    df = ROOT.RDataFrame("events", path)
    loader = ROOT.ML.RDataLoader(df, batch_size=2421, shuffle=False, drop_remainder=False, columns=columns,
                                 max_vec_sizes={"Jet_Px": 2, "Jet_ID": 2}, target="NJet", weights="EventWeight")
    x, y, w = single_batch(loader)
    reference = df.AsNumpy(columns)
    assert np.array_equal(y[:, 0], reference["NJet"].astype(np.float32))
    assert np.array_equal(w[:, 0], reference["EventWeight"])
    assert np.array_equal(x[:, 0], reference["MET_px"])
    for row, (px, jet_id) in enumerate(zip(reference["Jet_Px"], reference["Jet_ID"])):
        padded_px = (list(px) + [0, 0])[:2]
        padded_id = ([float(v) for v in jet_id] + [0, 0])[:2]
        assert list(x[row, 1:3]) == pytest.approx(padded_px) and list(x[row, 3:5]) == padded_id


def test_rntuple_with_dotted_column_names(shared_file):
    path = shared_file("Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root")
    df = ROOT.RDataFrame("Events", path)
    columns = ["nMuon", "_collection0.Muon_pt"]
    loader = ROOT.ML.RDataLoader(df, batch_size=1000, shuffle=False, columns=columns,
                                 max_vec_sizes={"_collection0.Muon_pt": 2})
    x = single_batch(loader)
    reference = df.AsNumpy(columns)
    assert np.array_equal(x[:, 0], reference["nMuon"].astype(np.float32))
    for row, pts in enumerate(reference["_collection0.Muon_pt"]):
        assert list(x[row, 1:]) == pytest.approx((list(pts) + [0, 0])[:2])


def test_zmumu_filtered_split_has_no_leakage(shared_file):
    df = ROOT.RDataFrame("events", shared_file("uproot-Zmumu.root")).Filter("pt1 > 30")
    df = df.Define("row", "(Long64_t)rdfentry_")
    train, val = ROOT.ML.RDataLoader(df, batch_size=16, columns=["row"], dtypes={"row": "int64"},
                                     drop_remainder=False).train_test_split(0.25)
    t = np.concatenate([b[:, 0] for b in train.as_numpy()])
    v = np.concatenate([b[:, 0] for b in val.as_numpy()])
    expected = np.sort(df.AsNumpy(["row"])["row"])
    assert len(np.intersect1d(t, v)) == 0
    assert np.array_equal(np.sort(np.concatenate([t, v])), expected)


def test_typedef_and_builtin_spellings_are_one_type(tmp_path):
    ROOT.RDataFrame(5).Define("x", "(Float_t)rdfentry_").Snapshot("t", str(tmp_path / "f.root"))
    frames = [ROOT.RDataFrame("t", str(tmp_path / "f.root")), ROOT.RDataFrame(5).Define("x", "(float)(rdfentry_ + 5)")]
    assert str(frames[0].GetColumnType("x")) != str(frames[1].GetColumnType("x"))
    x = np.concatenate(list(ROOT.ML.RDataLoader(frames, batch_size=5, columns=["x"], shuffle=False).as_numpy()))
    assert np.array_equal(np.sort(x[:, 0]), np.arange(10))


def test_really_different_types_across_dataframes_are_refused():
    frames = [ROOT.RDataFrame(5).Define("x", "1.f"), ROOT.RDataFrame(5).Define("x", "1.0")]
    with pytest.raises(TypeError, match="all dataframes must have the same column types"):
        ROOT.ML.RDataLoader(frames, columns=["x"])


@pytest.fixture(scope="module")
def wide_file(tmp_path_factory) -> tuple[str, list[str]]:
    """1100 columns: idx, 1000 float features, a vector of 2, 97 int features and the label; 400 entries."""
    df = ROOT.RDataFrame(400).Define("idx", "(Long64_t)rdfentry_").Define("label", "(int)(idx % 3)")
    columns = ["idx"]
    for i in range(1000):
        df = df.Define(f"f{i}", f"(float)(idx * 1000 + {i}) * 0.5f")
        columns.append(f"f{i}")
    df = df.Define("v", "ROOT::RVecF{(float)idx, -(float)idx}")
    columns.append("v")
    for i in range(97):
        df = df.Define(f"n{i}", f"(int)(idx * 3 - {i})")
        columns.append(f"n{i}")
    columns.append("label")
    options = ROOT.RDF.RSnapshotOptions()
    options.fAutoFlush = 100
    path = str(tmp_path_factory.mktemp("wide") / "wide.root")
    df.Snapshot("tree", path, columns, options)
    return path, columns


def test_a_thousand_columns_arrive_in_order_with_their_names(wide_file):
    path, columns = wide_file
    df = ROOT.RDataFrame("tree", path)
    loader = ROOT.ML.RDataLoader(df, batch_size=64, columns=columns, target="label", max_vec_sizes={"v": 2},
                                 dtypes={"label": "int64"}, shuffle=False, drop_remainder=False)
    features = [c for c in columns if c != "label"]
    expected_names = [n for c in features for n in ((f"{c}_0", f"{c}_1") if c == "v" else (c,))]
    assert loader.train_columns == expected_names
    x, y = (np.concatenate(parts) for parts in zip(*loader.as_numpy()))
    stored = df.AsNumpy(features + ["label"])
    expected = np.column_stack([np.stack(stored[c]) if c == "v" else stored[c] for c in features])
    assert x.shape == (400, 1100)
    assert np.array_equal(x, expected.astype(np.float32))
    assert np.array_equal(y, stored["label"])

    shuffled = ROOT.ML.RDataLoader(df, batch_size=64, columns=columns, target="label", max_vec_sizes={"v": 2},
                                   normalize={"f7": "standard"}, set_seed=3)
    x = np.concatenate([b[0] for b in shuffled.as_numpy()])
    assert len(x) == 400 // 64 * 64 and len(np.unique(x[:, 0])) == len(x)  # idx: distinct entries
    f7 = expected_names.index("f7")
    assert abs(x[:, f7].mean()) < 0.05 and x[:, f7].std() == pytest.approx(1, rel=0.05)
    assert shuffled.normalization.columns == tuple(expected_names)


def test_wide_features_keep_the_requested_dtype(wide_file):
    path, columns = wide_file
    features = [c for c in columns if c not in ("label", "v")]
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", path), batch_size=400, columns=features,
                                 dtypes={c: "float64" for c in features}, shuffle=False, drop_remainder=False)
    x = next(iter(loader.as_numpy()))
    assert x.dtype == np.float64 and x.shape == (400, len(features))
    assert x[399, features.index("f999")] == (399 * 1000 + 999) * 0.5
