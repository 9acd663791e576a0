"""Feature normalisation: fitted on the training split only, applied in every output, saved and reused."""

from __future__ import annotations

import numpy as np
import pytest

import ROOT
from rdataloader import Normalization, _cxx


@pytest.fixture
def frame(clustered_file):
    return ROOT.RDataFrame("tree", clustered_file).Define("v", "ROOT::RVecF{x, -x, y}").Define(
        "w", "ROOT::RVecF(idx % 3, x)")


def make(frame, **kwargs):
    kwargs.setdefault("batch_size", 50)
    return ROOT.ML.RDataLoader(frame, columns=["idx", "x", "y", "v", "w"], dtypes={"idx": "float64", "x": "float64",
                               "y": "float64", "v": "float64", "w": "float64"}, max_vec_sizes={"v": 3, "w": 2},
                               vec_padding=-9, set_seed=4, drop_remainder=False, **kwargs)


def raw_train_features(frame, **kwargs):
    train, _ = make(frame, **kwargs).train_test_split(0.3)
    return np.concatenate(list(train.as_numpy()))


def test_statistics_come_from_the_training_split_only_and_equal_numpys(frame):
    raw = raw_train_features(frame)
    train, val = make(frame, normalize="standard").train_test_split(0.3)
    table = train.normalization
    assert table.columns == tuple(train.train_columns)
    for i, name in enumerate(table.columns[:-2]):  # all but the padded elements of w
        assert table.mean[i] == pytest.approx(raw[:, i].mean(), rel=1e-12, abs=1e-12), name
        assert table.std[i] == pytest.approx(raw[:, i].std(), rel=1e-9), name
    # w has length idx % 3: its elements are counted only where they exist.
    w_0 = raw[:, -2]
    assert table.count[-2] == np.count_nonzero(w_0 != -9)
    normalized = np.concatenate(list(train.as_numpy()))
    present = normalized[:, :-2]
    assert np.allclose(present.mean(axis=0), 0, atol=1e-9) and np.allclose(present.std(axis=0), 1, atol=1e-9)
    assert set(np.unique(normalized[:, -1][raw[:, -1] == -9])) == {-9.0}


def test_minmax_maps_the_training_range_onto_unit_interval(frame):
    train, _ = make(frame, normalize={"x": "minmax", "idx": "standard"}).train_test_split(0.3)
    x = np.concatenate(list(train.as_numpy()))
    assert x[:, 1].min() == pytest.approx(0) and x[:, 1].max() == pytest.approx(1)
    assert train.normalization.methods[2] is None and x[:, 2].max() > 1  # y untouched


def test_saved_normalization_reproduces_the_training_batches(frame, tmp_path):
    train, _ = make(frame, normalize="standard").train_test_split(0.3)
    first = list(train.as_numpy())
    train.normalization.save(tmp_path / "scaler.json")
    loaded = Normalization.load(tmp_path / "scaler.json")
    again, _ = make(frame, normalize=loaded).train_test_split(0.3)
    assert loaded == train.normalization
    for a, b in zip(first, again.as_numpy()):
        assert np.array_equal(a, b)


@pytest.mark.torch
def test_normalization_is_identical_in_every_output(clustered_file):
    pytest.importorskip("torch")
    tf = pytest.importorskip("tensorflow")

    def loader():
        return ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", clustered_file), batch_size=100, columns=["x", "y", "label"],
                                   target="label", normalize="standard", set_seed=8)

    reference = [x for x, _ in loader().as_numpy()]
    assert all(np.array_equal(x.numpy(), r) for (x, _), r in zip(loader().as_torch(), reference))
    assert all(np.array_equal(x, r) for (x, _), r in zip(loader().as_tensorflow().as_numpy_iterator(), reference))
    del tf


def test_constant_feature_is_shifted_not_scaled_with_a_warning():
    frame = ROOT.RDataFrame(20).Define("c", "3.f").Define("x", "(float)rdfentry_")
    with pytest.warns(UserWarning, match="c do not vary"):
        loader = ROOT.ML.RDataLoader(frame, batch_size=20, normalize="standard", columns=["c", "x"])
        x = next(iter(loader.as_numpy()))
    assert np.all(x[:, 0] == 0)


def test_bad_normalization_requests(frame, tmp_path):
    with pytest.raises(ValueError, match="not a method"):
        make(frame, normalize="zscore")
    with pytest.raises(ValueError, match="not a feature"):
        ROOT.ML.RDataLoader(frame, columns=["x", "label"], target="label", normalize={"label": "standard"})
    with pytest.raises(TypeError, match="floating-point"):
        ROOT.ML.RDataLoader(frame, columns=["idx"], dtypes={"idx": "int64"}, normalize="standard")
    other, _ = ROOT.ML.RDataLoader(frame, columns=["x"], normalize="standard").train_test_split(0.5)
    other.normalization.save(tmp_path / "x.json")
    with pytest.raises(ValueError, match="saved normalisation is for features"):
        ROOT.ML.RDataLoader(frame, columns=["y"], normalize=Normalization.load(tmp_path / "x.json")).num_batches


def test_a_nan_or_infinity_is_left_out_of_the_fit_and_counted(clustered_file):
    # One NaN in 1000 values used to turn the whole feature into NaN.
    frame = ROOT.RDataFrame("tree", clustered_file).Define(
        "z", "idx == 17 ? std::numeric_limits<double>::quiet_NaN() : idx == 400 ? "
             "std::numeric_limits<double>::infinity() : double(x)")
    loader = ROOT.ML.RDataLoader(frame, batch_size=100, columns=["idx", "z"], dtypes={"idx": "float64",
                                 "z": "float64"}, normalize={"z": "standard"}, shuffle=False, drop_remainder=False)
    with pytest.warns(UserWarning, match=r"NaN or infinite values were left out of the fit \(z: 2\)"):
        table = loader.normalization  # fitted when the loader starts
    assert table.skipped == (0, 2) and table.count == (1000, 998)
    finite = np.array([i * 0.5 for i in range(1000) if i not in (17, 400)])
    assert table.mean[1] == pytest.approx(finite.mean(), rel=1e-12)
    assert table.std[1] == pytest.approx(finite.std(), rel=1e-12)
    x = np.concatenate(list(loader.as_numpy()))
    z = x[:, 1]
    assert np.isnan(z[17]) and np.isinf(z[400])
    others = np.delete(z, [17, 400])
    assert np.allclose(others, (finite - finite.mean()) / finite.std(), rtol=1e-12)
    assert "skipped" in repr(table)


# The same loader as make(frame, batches_in_memory=10).train_test_split(0.3), written as a C++ macro would:
# it fits the normalisation itself (or applies a saved one) and returns its training features, row by row.
_CXX_LOADER = r"""
std::vector<double> rdl_test_normalised_train(ROOT::RDF::RNode df, const std::string &save, const std::string &load)
{
   using ROOT::ML::ENormalization;
   ROOT::ML::RDataLoaderOptions o;
   o.fBatchSize = 50;
   o.fBatchesInMemory = 10;
   o.fValidationSplit = 0.3;
   o.fSeed = 4;
   o.fDropRemainder = false;
   o.fVecPadding = -9;
   o.fMaxVecSizes = {{"v", 3}, {"w", 2}};
   for (const char *c : {"idx", "x", "y", "v", "w"})
      o.fDTypes[c] = ROOT::ML::EDType::kFloat64;
   if (load.empty()) {
      o.fNormalize = ENormalization::kStandard;
      o.fNormalizeColumns = {{"x", ENormalization::kMinMax}, {"y", ENormalization::kNone}};
   }
   ROOT::ML::RDataLoader<Long64_t, float, float, ROOT::RVecF, ROOT::RVecF> loader(df, {"idx", "x", "y", "v", "w"}, o);
   if (load.empty())
      loader.GetNormalization().Save(save);
   else
      loader.SetNormalization(ROOT::ML::RNormalization::Load(load));
   std::vector<double> values;
   for (const auto &batch : loader.Train()) {
      const auto x = batch.GetFeatures<double>();
      for (std::size_t row = 0; row < batch.GetNumRows(); ++row)
         for (std::size_t i = 0; i < 8; ++i)
            values.push_back(x(row, i));
   }
   return values;
}
"""


@pytest.mark.filterwarnings("ignore:RDataLoader. the batches of this train epoch follow the order:RuntimeWarning")
def test_a_cxx_loader_fits_and_applies_the_normalisation_python_does(frame, tmp_path):
    _cxx.cxx_namespace()  # the engine's headers
    ROOT.gInterpreter.Declare(_CXX_LOADER)
    cxx_file, python_file = tmp_path / "cxx.json", tmp_path / "python.json"
    cxx = np.asarray(ROOT.rdl_test_normalised_train(ROOT.RDF.AsRNode(frame), str(cxx_file), "")).reshape(-1, 8)
    methods = {"idx": "standard", "x": "minmax", "v": "standard", "w": "standard"}
    train, _ = make(frame, batches_in_memory=10, normalize=methods).train_test_split(0.3)
    python = np.concatenate(list(train.as_numpy()))
    # The same fit, exactly, read back by Python from the C++ file, and the same batches, bit for bit.
    assert Normalization.load(cxx_file) == train.normalization
    assert np.array_equal(cxx, python)
    # And the other way: the file Python saves, applied by a C++ loader.
    train.normalization.save(python_file)
    assert np.array_equal(np.asarray(ROOT.rdl_test_normalised_train(ROOT.RDF.AsRNode(frame), "", str(python_file))).reshape(-1, 8), python)
