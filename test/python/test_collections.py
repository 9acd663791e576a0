"""Object collections on real files: padded tensors with masks and packed values with offsets, checked
entry by entry against RDataFrame.AsNumpy in NumPy, torch and TensorFlow; sorting, truncation counts,
mismatched lengths, suggest_max_len, and the deep-sets tutorial."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ROOT
import rdataloader

HZZ = "uproot-HZZ.root"
RNTUPLE = "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root"
MUONS = ["Muon_Px", "Muon_Py", "Muon_Pz", "Muon_E"]
JETS = ["Jet_Px", "Jet_Py", "Jet_Pz", "Jet_E"]
NANO_MUONS = ["_collection0.Muon_pt", "_collection0.Muon_eta", "_collection0.Muon_phi"]
TUTORIALS = Path(__file__).resolve().parents[2] / "tutorials"


@functools.cache
def reference(path: str, tree: str, columns: tuple[str, ...]) -> dict[str, list]:
    """Each column as RDataFrame.AsNumpy reads it, vectors as a list of NumPy arrays (one per entry)."""
    arrays = ROOT.RDataFrame(tree, path).AsNumpy(list(columns))
    return {c: [np.asarray(v) for v in arrays[c]] if arrays[c].dtype == object else arrays[c] for c in columns}


def expected_padded(ref: dict, fields: list[str], max_len: int, padding: float = 0.0, key: str | None = None):
    """Values (entries, max_len, fields), mask and number of dropped objects, computed with NumPy."""
    entries = len(ref[fields[0]])
    values = np.full((entries, max_len, len(fields)), padding, dtype=np.float32)
    mask = np.zeros((entries, max_len), dtype=bool)
    dropped = 0
    for e in range(entries):
        order = np.argsort(-ref[key][e], kind="stable") if key else np.arange(len(ref[fields[0]][e]))
        kept = order[:max_len]
        dropped += len(order) - len(kept)
        for f, field in enumerate(fields):
            values[e, :len(kept), f] = ref[field][e][kept]
        mask[e, :len(kept)] = True
    return values, mask, dropped


def hzz_loader(path: str, **kwargs):
    """Muons and jets of the H->ZZ file with MET_px as flat feature and the entry number as target."""
    df = ROOT.RDataFrame("events", path).Define("idx", "(Long64_t)rdfentry_")
    kwargs.setdefault("collections", {"muons": (MUONS, 2), "jets": (JETS, 3)})
    kwargs.setdefault("batch_size", 256)
    kwargs.setdefault("drop_remainder", False)
    return ROOT.ML.RDataLoader(df, columns=["MET_px", "idx"], target="idx", dtypes={"idx": "int64"}, set_seed=11,
                               **kwargs)


def hzz_expected(path: str, vec_padding: float = 0.0):
    ref = reference(path, "events", tuple(MUONS + JETS + ["MET_px"]))
    return ref, expected_padded(ref, MUONS, 2, vec_padding), expected_padded(ref, JETS, 3, vec_padding, key="Jet_E")


def check_padded_batches(batches, ref, muons, jets) -> np.ndarray:
    """Every batch against the reference, row by row through the entry number; returns all entry numbers."""
    seen = []
    for x, idx in batches:
        x = {k: np.asarray(v) for k, v in x.items()}
        idx = np.asarray(idx)
        assert set(x) == {"features", "muons", "muons_mask", "jets", "jets_mask"}
        assert x["muons"].dtype == np.float32 and x["muons_mask"].dtype == bool
        assert np.array_equal(x["features"][:, 0], ref["MET_px"][idx])
        assert np.array_equal(x["muons"], muons[0][idx]) and np.array_equal(x["muons_mask"], muons[1][idx])
        assert np.array_equal(x["jets"], jets[0][idx]) and np.array_equal(x["jets_mask"], jets[1][idx])
        seen.append(idx)
    return np.concatenate(seen)


def test_hzz_padded_collections_match_asnumpy_entry_by_entry(shared_file):
    path = shared_file(HZZ)
    ref, muons, jets = hzz_expected(path, vec_padding=-7)
    loader = hzz_loader(path, sort_by={"jets": "Jet_E"}, vec_padding=-7)
    seen = check_padded_batches(loader.as_numpy(), ref, muons, jets)
    # Shuffled, yet every entry exactly once, each with its own objects.
    assert np.array_equal(np.sort(seen), np.arange(2421)) and not np.array_equal(seen, np.arange(2421))
    assert loader.stats()["truncated_objects"] == {"muons": muons[2], "jets": jets[2]}
    # The objects beyond max_len, counted by RDataFrame itself: sum over entries of max(0, n - max_len).
    df = ROOT.RDataFrame("events", path)
    beyond = {name: int(df.Define("beyond", f"std::max(0, (int){column}.size() - {n})").Sum("beyond").GetValue())
              for name, column, n in (("muons", "Muon_Px", 2), ("jets", "Jet_Px", 3))}
    assert (muons[2], jets[2]) == (beyond["muons"], beyond["jets"]) == (50, 40)
    # Padding is vec_padding exactly where the mask is false.
    x, _ = next(iter(loader.as_numpy()))
    assert np.all(x["muons"][~x["muons_mask"]] == -7) and np.all(x["jets"][~x["jets_mask"]] == -7)


def test_same_seed_gives_identical_collection_batches(shared_file):
    path = shared_file(HZZ)
    first = [(x["muons"].copy(), x["jets_mask"].copy(), y.copy()) for x, y in hzz_loader(path).as_numpy()]
    second = [(x["muons"], x["jets_mask"], y) for x, y in hzz_loader(path).as_numpy()]
    assert len(first) == len(second) == 10
    assert all(all(np.array_equal(a, b) for a, b in zip(f, s)) for f, s in zip(first, second))


@pytest.mark.torch
def test_torch_batches_are_dicts_of_tensors_equal_to_asnumpy(shared_file):
    torch = pytest.importorskip("torch")
    path = shared_file(HZZ)
    ref, muons, jets = hzz_expected(path)
    batches = list(hzz_loader(path, sort_by={"jets": "Jet_E"}).as_torch())
    x, y = batches[0]
    assert all(isinstance(t, torch.Tensor) for t in x.values()) and x["muons_mask"].dtype == torch.bool
    assert y.dtype == torch.int64 and y.shape == (256,)
    assert x["muons"].shape == (256, 2, 4) and x["jets_mask"].shape == (256, 3)
    seen = check_padded_batches(batches, ref, muons, jets)
    assert np.array_equal(np.sort(seen), np.arange(2421))


@pytest.mark.tensorflow
def test_tensorflow_element_spec_and_values(shared_file):
    tf = pytest.importorskip("tensorflow")
    path = shared_file(HZZ)
    ref, muons, jets = hzz_expected(path)
    dataset = hzz_loader(path, sort_by={"jets": "Jet_E"}).as_tensorflow()
    x_spec, y_spec = dataset.element_spec
    assert x_spec["muons"] == tf.TensorSpec((None, 2, 4), tf.float32)
    assert x_spec["muons_mask"] == tf.TensorSpec((None, 2), tf.bool)
    assert x_spec["features"].shape.as_list() == [None, 1] and y_spec.dtype == tf.int64
    seen = check_padded_batches(dataset.as_numpy_iterator(), ref, muons, jets)
    assert np.array_equal(np.sort(seen), np.arange(2421))

    packed = hzz_loader(path, collections_layout="packed", sort_by={"jets": "Jet_E"}, drop_remainder=True)
    packed = packed.as_tensorflow()
    x_spec, _ = packed.element_spec
    assert x_spec["jets"] == tf.TensorSpec((None, 4), tf.float32)
    assert x_spec["jets_offsets"] == tf.TensorSpec((257,), tf.int64)
    for x, idx in packed.as_numpy_iterator():
        lengths = jets[1][idx].sum(axis=1)
        assert np.array_equal(np.diff(x["jets_offsets"]), lengths)
        assert np.array_equal(x["jets"], jets[0][idx][jets[1][idx]])


@pytest.mark.jax
def test_jax_batches_are_dicts_of_arrays(shared_file):
    pytest.importorskip("jax")
    x, idx = next(iter(hzz_loader(shared_file(HZZ), collections_layout="packed").as_jax()))
    reference_x, reference_idx = next(iter(hzz_loader(shared_file(HZZ), collections_layout="packed").as_numpy()))
    assert set(x) == set(reference_x) and np.array_equal(np.asarray(idx), reference_idx)
    assert all(np.array_equal(np.asarray(x[k]), reference_x[k]) for k in x)


def test_packed_layout_holds_the_objects_back_to_back_with_offsets(shared_file):
    path = shared_file(HZZ)
    _, muons, jets = hzz_expected(path)
    loader = hzz_loader(path, collections_layout="packed", sort_by={"jets": "Jet_E"})
    seen = []
    for x, idx in loader.as_numpy():
        assert set(x) == {"features", "muons", "muons_offsets", "jets", "jets_offsets"}
        for name, (values, mask, _) in (("muons", muons), ("jets", jets)):
            offsets = x[f"{name}_offsets"]
            assert offsets.dtype == np.int64 and offsets.shape == (len(idx) + 1,) and offsets[0] == 0
            assert np.array_equal(np.diff(offsets), mask[idx].sum(axis=1))
            # The padded layout's real objects, in the same order, with no padding in between.
            assert np.array_equal(x[name], values[idx][mask[idx]])
            assert x[name].shape == (offsets[-1], 4)
        seen.append(idx)
    assert np.array_equal(np.sort(np.concatenate(seen)), np.arange(2421))
    assert loader.stats()["truncated_objects"] == {"muons": muons[2], "jets": jets[2]}


def test_packed_batches_cost_their_objects_not_max_len(shared_file):
    psutil = pytest.importorskip("psutil")
    path = shared_file(HZZ)
    max_len = 20_000
    loader = hzz_loader(path, collections={"muons": (MUONS, max_len), "jets": (JETS, max_len)},
                        collections_layout="packed", batch_size=2421, batches_in_memory=1)
    list(loader.as_numpy())  # compiles the reading loop, which costs memory of its own
    process = psutil.Process()
    before = process.memory_info().rss
    (x, _), = list(loader.as_numpy())
    grown = process.memory_info().rss - before
    reserved = 2 * 2421 * max_len * 4 * 4  # 775 MB: what padding, or allocating the bound, would cost
    assert x["muons"].shape[0] + x["jets"].shape[0] < 10_000
    assert grown < reserved / 20, f"RSS grew by {grown / 2**20:.0f} MiB"


def test_sort_key_need_not_be_a_field(shared_file):
    path = shared_file(HZZ)
    ref = reference(path, "events", tuple(MUONS + JETS))
    fields = ["Jet_Px", "Jet_Py", "Jet_Pz"]
    values, mask, dropped = expected_padded(ref, fields, 3, key="Jet_E")
    loader = hzz_loader(path, collections={"jets": (fields, 3)}, sort_by={"jets": "Jet_E"}, shuffle=False,
                        batch_size=2421)
    (x, idx), = list(loader.as_numpy())
    assert set(x) == {"features", "jets", "jets_mask"}
    assert np.array_equal(idx, np.arange(2421))
    assert np.array_equal(x["jets"], values) and np.array_equal(x["jets_mask"], mask)
    assert loader.stats()["truncated_objects"] == {"jets": dropped}
    # Sorting changed something: the stored order differs for some entries.
    unsorted, _, _ = expected_padded(ref, fields, 3)
    assert not np.array_equal(unsorted, values)


def test_rntuple_collection_with_dotted_names(shared_file):
    path = shared_file(RNTUPLE)
    ref = reference(path, "Events", tuple(NANO_MUONS + ["nMuon"]))
    df = ROOT.RDataFrame("Events", path)
    padded, mask, dropped = expected_padded(ref, NANO_MUONS, 3)
    loader = ROOT.ML.RDataLoader(df, batch_size=1000, shuffle=False, columns=["nMuon"],
                                 collections={"muons": (NANO_MUONS, 3)})
    (x,) = [b for b in loader.as_numpy()]
    assert np.array_equal(x["features"][:, 0], ref["nMuon"].astype(np.float32))
    assert np.array_equal(x["muons"], padded) and np.array_equal(x["muons_mask"], mask)
    assert np.array_equal(x["muons_mask"].sum(axis=1), np.minimum(ref["nMuon"], 3))
    assert loader.stats()["truncated_objects"] == {"muons": dropped} and dropped == np.maximum(
        ref["nMuon"].astype(np.int64) - 3, 0).sum()


def test_rntuple_packed_sorted_by_eta_with_float64_dtype(shared_file):
    path = shared_file(RNTUPLE)
    ref = reference(path, "Events", tuple(NANO_MUONS + ["nMuon"]))
    key = "_collection0.Muon_eta"
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("Events", path), batch_size=300, shuffle=False, columns=["nMuon"],
                                 drop_remainder=False, collections={"muons": (NANO_MUONS, 2)},
                                 collections_layout="packed", sort_by={"muons": key}, dtypes={"muons": "float64"})
    batches = list(loader.as_numpy())
    assert [len(x["muons_offsets"]) - 1 for x in batches] == [300, 300, 300, 100]
    values = np.concatenate([x["muons"] for x in batches])
    assert values.dtype == np.float64
    expected = []
    for e in range(1000):
        order = np.argsort(-ref[key][e], kind="stable")[:2]
        expected += [[ref[f][e][i] for f in NANO_MUONS] for i in order]
    assert np.array_equal(values, np.array(expected, dtype=np.float32).astype(np.float64))


def test_fields_of_different_lengths_raise_naming_entry_and_columns(shared_file):
    df = ROOT.RDataFrame("events", shared_file(HZZ)).Define("idx", "(Long64_t)rdfentry_")
    df = df.Define("Muon_Bad", "rdfentry_ == 1234 ? ROOT::RVecF(Muon_E.size() + 1) : ROOT::RVecF(Muon_E)")
    collections = {"muons": (MUONS[:3] + ["Muon_Bad"], 2), "jets": (JETS, 3)}
    loader = ROOT.ML.RDataLoader(df, batch_size=256, columns=["MET_px", "idx"], target="idx",
                                 dtypes={"idx": "int64"}, collections=collections)
    with pytest.raises(RuntimeError, match=r"collection 'muons': entry 1234 has \d+ values in column 'Muon_Px' "
                                         r"but \d+ in column 'Muon_Bad'"):
        list(loader.as_numpy())
    filtered = ROOT.ML.RDataLoader(df.Filter("idx >= 1000"), batch_size=256, columns=["MET_px", "idx"],
                                   target="idx", dtypes={"idx": "int64"}, collections=collections, shuffle=False)
    with pytest.raises(RuntimeError, match=r"entry number 234 among the entries of this range that pass"):
        list(filtered.as_numpy())


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(collections={"muons": (MUONS, 2)}, columns=["Muon_Px"]), ValueError, "leave it out of columns"),
        (dict(collections={"muons": (["MET_px"], 2)}, columns=["NJet"]), TypeError, "is a scalar"),
        (dict(collections={"muons": (["Muon_Pxx"], 2)}), KeyError, "did you mean 'Muon_Px'"),
        (dict(collections={"muons": (MUONS, 0)}), ValueError, "suggest_max_len"),
        (dict(collections={"muons": "Muon_Px"}), TypeError, r"\(\[field columns\], max_len\)"),
        (dict(collections={"features": (MUONS, 2)}), ValueError, "key of the flat features"),
        (dict(collections={"m": (MUONS, 2), "j": (MUONS[:1], 2)}), ValueError, "belongs to one collection"),
        (dict(collections={"m": (MUONS, 2)}, collections_layout="ragged"), ValueError, "'padded' or 'packed'"),
        (dict(collections={"m": (MUONS, 2)}, sort_by={"jets": "Jet_E"}), ValueError, "not a collection"),
        (dict(sort_by={"jets": "Jet_E"}), ValueError, "no collections are given"),
        (dict(collections={"m": (MUONS, 2)}, dtypes={"Muon_Px": "float64"}), ValueError, r"dtypes=\{'m'"),
        (dict(collections={"m": (MUONS, 2)}, max_vec_sizes={"Muon_E": 2}), ValueError, "max_vec_sizes"),
        (dict(collections={"m": (MUONS, 2)}, dtypes={"m": "int8"}, vec_padding=0.5), ValueError, "vec_padding"),
    ],
)
def test_invalid_collections_are_refused_with_the_fix(shared_file, kwargs, error, message):
    df = ROOT.RDataFrame("events", shared_file(HZZ))
    kwargs.setdefault("columns", ["MET_px"])
    with pytest.raises(error, match=message):
        ROOT.ML.RDataLoader(df, **kwargs)


@pytest.mark.parametrize("quantile", [0.5, 0.9, 0.99, 1.0])
def test_suggest_max_len_matches_numpy_quantiles(shared_file, quantile):
    hzz, nano = shared_file(HZZ), shared_file(RNTUPLE)
    columns = {"muons": "Muon_Px", "electrons": "Electron_Px", "jets": "Jet_Px", "photons": "Photon_Px"}
    suggested = rdataloader.suggest_max_len(ROOT.RDataFrame("events", hzz), columns, quantile=quantile)
    ref = reference(hzz, "events", tuple(columns.values()))
    for name, column in columns.items():
        lengths = np.array([len(v) for v in ref[column]])
        assert suggested[name] == max(1, int(np.quantile(lengths, quantile, method="inverted_cdf"))), name
    nmuon = reference(nano, "Events", ("nMuon",))["nMuon"]
    got = ROOT.ML.suggest_max_len(ROOT.RDataFrame("Events", nano), {"muons": NANO_MUONS[0]}, quantile=quantile)
    assert got == {"muons": int(np.quantile(nmuon, quantile, method="inverted_cdf"))}


def test_suggest_max_len_honours_filters_and_several_dataframes(shared_file):
    path = shared_file(HZZ)
    df = ROOT.RDataFrame("events", path)
    frames = [df.Filter("NJet >= 2"), df.Filter("NJet < 2")]
    lengths = np.array([len(v) for v in reference(path, "events", ("Muon_Px",))["Muon_Px"]])
    assert rdataloader.suggest_max_len(frames, {"muons": "Muon_Px"}, quantile=0.9) == {
        "muons": int(np.quantile(lengths, 0.9, method="inverted_cdf"))}
    with pytest.raises(ValueError, match=r"quantile must be a number in \(0, 1\]"):
        rdataloader.suggest_max_len(df, {"muons": "Muon_Px"}, quantile=0)
    with pytest.raises(TypeError, match="is a scalar"):
        rdataloader.suggest_max_len(df, {"met": "MET_px"})


@pytest.mark.torch
def test_deep_sets_tutorial_learns_from_the_collection():
    pytest.importorskip("torch")
    result = subprocess.run([sys.executable, str(TUTORIALS / "deep_sets.py"), "--fast"], capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    summary = [line for line in result.stdout.splitlines() if line.startswith("summary:")]
    assert summary, result.stdout
    assert float(summary[0].rsplit(" ", 1)[1]) > 0.8
