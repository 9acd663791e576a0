"""Bad input raises a clear Python exception, before any thread starts."""

from __future__ import annotations

import warnings

import pytest

import ROOT


@pytest.fixture
def df(clustered_file):
    return ROOT.RDataFrame("tree", clustered_file)


def test_unknown_column_lists_close_matches(df):
    with pytest.raises(KeyError, match=r"no column 'lable'.*did you mean 'label'"):
        ROOT.ML.RDataLoader(df, columns=["x", "lable"])
    # ROOT's loader raises ValueError for it: code written for ROOT's loader catches ours too.
    with pytest.raises(ValueError, match=r"no column 'lable'"):
        ROOT.ML.RDataLoader(df, columns=["x", "lable"])


def test_string_like_column_is_refused_with_the_way_out(shared_file):
    zmumu = ROOT.RDataFrame("events", shared_file("uproot-Zmumu.root"))
    with pytest.raises(TypeError, match=r"'Type'.*string.*columns=\["):
        ROOT.ML.RDataLoader(zmumu)
    with pytest.raises(TypeError, match="'Type'"):
        ROOT.ML.RDataLoader(zmumu, columns=["pt1", "Type"])


def test_object_column_is_refused():
    frame = ROOT.RDataFrame(4).Define("s", 'std::string("abc")')
    with pytest.raises(TypeError, match="'s' has type"):
        ROOT.ML.RDataLoader(frame, columns=["s"])


@pytest.mark.parametrize("value", [0, -3, 2.5, True, None])
def test_batch_size_must_be_positive_integer(df, value):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        ROOT.ML.RDataLoader(df, batch_size=value, columns=["x"])


@pytest.mark.parametrize("value", [0, -1])
def test_batches_in_memory_must_be_positive(df, value):
    with pytest.raises(ValueError, match="batches_in_memory must be a positive integer"):
        ROOT.ML.RDataLoader(df, batches_in_memory=value, columns=["x"])


@pytest.mark.parametrize("test_size", [0, 1, -0.1, 1.5, "0.2"])
def test_test_size_outside_open_interval(df, test_size):
    with pytest.raises(ValueError, match=r"test_size must be a number in \(0, 1\)"):
        ROOT.ML.RDataLoader(df, columns=["x"]).train_test_split(test_size)


def test_target_and_weights_left_out_of_columns_say_to_add_them(df):
    with pytest.raises(KeyError, match=r"target names 'label', a column of the dataframe that is not among "
                                       r"columns=\['x'\]; add 'label' to columns"):
        ROOT.ML.RDataLoader(df, columns=["x"], target="label")
    with pytest.raises(KeyError, match=r"weights names 'y', a column .* add 'y' to columns"):
        ROOT.ML.RDataLoader(df, columns=["x", "label"], target="label", weights="y")


@pytest.mark.parametrize(
    "option, kwargs",
    [
        ("target", {"target": "lable"}),
        ("target", {"columns": ["x", "label"], "target": "lable"}),
        ("weights", {"target": "label", "weights": "lable"}),
        ("max_vec_sizes", {"max_vec_sizes": {"lable": 2}}),
        ("dtypes", {"dtypes": {"lable": "int64"}}),
        ("collections\\['c'\\]", {"collections": {"c": (["lable"], 2)}}),
    ],
)
def test_a_misspelled_name_in_any_option_gets_its_close_match(df, option, kwargs):
    # The old message for target advised adding 'lable' to columns, a column that does not exist.
    with pytest.raises(KeyError, match=rf"^'?{option} names 'lable', but there is no column 'lable' in the "
                                       r"dataframe; did you mean 'label'\?") as raised:
        ROOT.ML.RDataLoader(df, **kwargs)
    assert "add 'lable' to columns" not in str(raised.value)


def test_a_misspelled_split_key_or_normalized_column_gets_its_close_match(df):
    loader = ROOT.ML.RDataLoader(df, columns=["x", "y", "idx"])
    with pytest.raises(KeyError, match=r"split_key names 'idz', but there is no column 'idz'.*did you mean 'idx'"):
        loader.train_test_split(0.2, split_key="idz")
    with pytest.raises(ValueError, match=r"normalize names 'xx', which is not a feature column; did you mean 'x'"):
        ROOT.ML.RDataLoader(df, columns=["x", "y"], normalize={"xx": "standard"})


@pytest.mark.parametrize(
    "kwargs, option, name",
    [
        ({"columns": ["x", "label", "x"]}, "columns", "x"),
        ({"columns": ["x", "label"], "target": ["label", "label"]}, "target", "label"),
        ({"columns": ["x", "y", "label"], "target": ["label", "y", "label"]}, "target", "label"),
    ],
)
def test_a_repeated_name_is_refused_naming_it(df, kwargs, option, name):
    # target=["label", "label"] delivered y of shape (n, 2) whose second column held other values.
    with pytest.raises(ValueError, match=rf"^{option} lists '{name}' twice; name each column once$"):
        ROOT.ML.RDataLoader(df, **kwargs)


def test_one_column_cannot_be_target_and_weights(df):
    with pytest.raises(ValueError, match="'label' cannot be both a target and the weights"):
        ROOT.ML.RDataLoader(df, columns=["x", "label"], target="label", weights="label")


def test_weights_need_a_target(df):
    with pytest.raises(ValueError, match="needs a target"):
        ROOT.ML.RDataLoader(df, columns=["x", "y"], weights="y")


def test_vector_column_needs_a_max_size(shared_file):
    hzz = ROOT.RDataFrame("events", shared_file("uproot-HZZ.root"))
    with pytest.raises(ValueError, match=r"'Jet_Px' holds vectors.*max_vec_sizes"):
        ROOT.ML.RDataLoader(hzz, columns=["NJet", "Jet_Px"])


def test_bad_dtype_is_refused(df):
    with pytest.raises(TypeError, match="not supported"):
        ROOT.ML.RDataLoader(df, columns=["x"], dtypes={"x": "complex64"})


def test_empty_selection_gives_empty_epochs_with_a_warning(df):
    with pytest.warns(UserWarning, match="no entries"):
        train, val = ROOT.ML.RDataLoader(df.Filter("idx < 0"), columns=["x"]).train_test_split(0.2)
    assert len(train.as_numpy()) == 0 and list(train.as_numpy()) == [] and list(val.as_numpy()) == []


def test_a_missing_file_or_tree_among_the_inputs_is_named(tmp_path, clustered_file):
    """ROOT's RDataFrame refuses a single missing file or tree itself; one missing among several files (or in a
    TChain) reaches the loader, which names the dataframe and the file when it plans its reading, before any
    thread starts."""
    missing, other = str(tmp_path / "missing.root"), str(tmp_path / "other.root")
    ROOT.RDataFrame(5).Define("y", "1.f").Snapshot("other", other)
    inputs = [ROOT.RDataFrame("tree", clustered_file), ROOT.RDataFrame("tree", [clustered_file, missing])]
    with pytest.raises(ValueError, match=r'dataframe 1 cannot be read \(.*could not open file ".*missing\.root"'):
        ROOT.ML.RDataLoader(inputs, columns=["x"]).num_entries
    with pytest.raises(ValueError, match=r'dataframe 0 cannot be read \(.*"tree" in file ".*other\.root".*holds the tree'):
        ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", [clustered_file, other]), columns=["x"]).num_entries


def test_something_that_is_not_a_dataframe():
    with pytest.raises(TypeError, match="not an RDataFrame"):
        ROOT.ML.RDataLoader([object()])
    with pytest.raises(ValueError, match="empty"):
        ROOT.ML.RDataLoader([])


def test_split_of_a_split_is_refused(df):
    train, _ = ROOT.ML.RDataLoader(df, columns=["x"]).train_test_split(0.2)
    with pytest.raises(RuntimeError, match="already one side of a split"):
        train.train_test_split(0.5)


def test_missing_optional_framework_names_the_extra(df, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_jax(name, *args, **kwargs):
        if name == "jax" or name.startswith("jax."):
            raise ImportError("no jax here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_jax)
    monkeypatch.delitem(__import__("sys").modules, "jax", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'rdataloader\[jax\]'"):
        list(ROOT.ML.RDataLoader(df, columns=["x"]).as_jax())


def test_no_warning_for_a_normal_loader(df):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ROOT.ML.RDataLoader(df, columns=["x"]).num_batches == 1000 // 64


def test_too_many_vector_columns_are_refused_with_the_way_out():
    frame = ROOT.RDataFrame(2)
    for i in range(251):
        frame = frame.Define(f"v{i}", "ROOT::RVecF{1.f}")
    with pytest.raises(ValueError, match="251 columns requested, 251 even with the scalar features read in groups "
                                         "of 200; one loader reads at most 250. Combine vector columns"):
        ROOT.ML.RDataLoader(frame, max_vec_sizes={f"v{i}": 1 for i in range(251)})
