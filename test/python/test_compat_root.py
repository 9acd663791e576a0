"""Compatibility with ROOT 6.40's own loader, ``ROOT.Experimental.ML.RDataLoader``.

Every test runs one scenario through ROOT's installed loader and through ``ROOT.ML.RDataLoader``,
on fresh dataframes over the same small files, and compares the epochs batch by batch: the number of
batches, each output's shape and dtype, the values, and the order wherever ROOT's order is
deterministic (``shuffle=False``). Shuffled scenarios compare what is deterministic in both: sizes,
counts and the set of entries.

What ROOT's loader does, as read from its sources (``ROOT/_pythonization/_ml_dataloader.py`` and
``ROOT/include/ROOT/ML/``):

- lazy (default): the dataframes' clusters are listed in order. Unshuffled, one cut over the
  concatenation of all dataframes puts the first ``N - int(test_size * N)`` entries into training and
  the rest into validation; shuffled, each cluster gives a prefix or suffix to each split.
  Clusters are read in chunks of about ``batch_size * batches_in_memory`` entries;
- ``load_eager=True``: each dataframe is read whole, (shuffled and) cut into its first
  ``N - int(test_size * N)`` entries for training and the rest for validation; the dataframes'
  parts are then concatenated, or, with ``sampling_type``, resampled as majority (the larger
  dataframe) and minority (the smaller);
- every value is a float32; ``y`` is ``(rows, targets)``, ``w`` is ``(rows, 1)``;
  ``last_batch_no_of_rows`` is ``entries % batch_size`` (also with ``drop_remainder=True``).

Where ours differs on purpose (the migration guide lists these), the test asserts the difference and
says why. The module keeps to one set of scalar column types and one with a vector column, so that
each loader compiles only a few engines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ROOT
from conftest import write_tree

ROOT_LOADER = ROOT.Experimental.ML.RDataLoader
OUR_LOADER = ROOT.ML.RDataLoader


# --- files ------------------------------------------------------------------------------------------
# Written once per module (pytest's temporary directories); each test opens fresh dataframes on them,
# one set for ROOT's loader and one for ours (ROOT's loader moves the dataframe's entry range around
# while it reads, so the two must not share a dataframe).

@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("compat-root")
    return {
        # one dataframe over two files: 9 + 6 entries, idx 0..14, clusters of 5 (a cluster crosses nowhere)
        "a9": write_tree(d / "a9.root", 9, cluster=5),
        "b6": write_tree(d / "b6.root", 6, first_index=9, cluster=5),
        # a single file of 15 entries, clusters of 5
        "one15": write_tree(d / "one15.root", 15, cluster=5),
        # two dataframes for lists: 12 entries (idx 0..11) and 8 entries (idx 100..107), clusters of 4
        "l12": write_tree(d / "l12.root", 12, cluster=4),
        "l8": write_tree(d / "l8.root", 8, first_index=100, cluster=4),
        # filters: 24 entries in clusters of 6
        "f24": write_tree(d / "f24.root", 24, cluster=6),
        # resampling: a majority (label 0, 40 entries, idx 0..39) and a minority (label 1, idx 100..109)
        "major": write_tree(d / "major.root", 40, label=0, cluster=10),
        "minor": write_tree(d / "minor.root", 10, first_index=100, label=1, cluster=10),
        # shuffled scenarios: 64 entries in clusters of 8
        "s64": write_tree(d / "s64.root", 64, cluster=8),
        "vec": _write_vector_tree(d / "vec.root", 11),
    }


def _write_vector_tree(path: Path, entries: int) -> str:
    """``idx``, a vector ``v`` of ``idx % 5`` floats ``10*idx + i``, and ``label = idx % 2``."""
    df = ROOT.RDataFrame(entries).Define("idx", "(Long64_t)rdfentry_")
    df = df.Define("v", "ROOT::RVecF r(idx % 5); for (std::size_t i = 0; i < r.size(); ++i) r[i] = 10 * idx + i;"
                        " return r;")
    df = df.Define("label", "(int)(idx % 2)")
    options = ROOT.RDF.RSnapshotOptions()
    options.fAutoFlush = 4
    df.Snapshot("tree", str(path), ["idx", "v", "label"], options)
    return str(path)


def frame(*paths: str):
    """A fresh dataframe over the files (a TChain when there are several)."""
    return ROOT.RDataFrame("tree", list(paths)) if len(paths) > 1 else ROOT.RDataFrame("tree", paths[0])


def both(make, **kwargs):
    """ROOT's loader and ours, with the same arguments, each on dataframes of its own. A fixed seed
    unless the test gives one, so that every run compares the same epochs (ROOT's unshuffled epochs
    do not depend on it; test_unshuffled_split_... checks that ours do not either)."""
    kwargs.setdefault("set_seed", 1)
    return ROOT_LOADER(make(), **kwargs), OUR_LOADER(make(), **kwargs)


# --- epochs -----------------------------------------------------------------------------------------

def _parts(batch) -> tuple:
    return batch if isinstance(batch, tuple) else (batch,)


def numpy_epoch(loader) -> list[tuple[np.ndarray, ...]]:
    """One epoch of ``as_numpy()``, copied at once (ROOT's unsplit ``x`` is a view of a batch that
    its loader frees at the next request)."""
    return [tuple(np.array(p, copy=True) for p in _parts(b)) for b in loader.as_numpy()]


def torch_epoch(loader) -> list[tuple[np.ndarray, ...]]:
    import torch

    out = []
    for b in loader.as_torch():
        assert all(isinstance(p, torch.Tensor) and p.dtype == torch.float32 for p in _parts(b))
        out.append(tuple(p.detach().cpu().numpy().copy() for p in _parts(b)))
    return out


def tf_epoch(loader) -> list[tuple[np.ndarray, ...]]:
    return [tuple(np.array(p.numpy(), copy=True) for p in _parts(b)) for b in loader.as_tensorflow()]


def indices(epoch) -> list[int]:
    """The ``idx`` values (first feature) of an epoch, in order."""
    return [int(v) for b in epoch for v in b[0][:, 0]]


def per_batch(epoch) -> list[list[int]]:
    return [[int(v) for v in b[0][:, 0]] for b in epoch]


def layout(epoch) -> list[tuple]:
    return [tuple((p.shape, str(p.dtype)) for p in b) for b in epoch]


def assert_same_epoch(root_epoch, our_epoch, what: str = "") -> None:
    """Same number of batches, shapes, dtypes, values and order."""
    where = f" ({what})" if what else ""
    assert len(our_epoch) == len(root_epoch), (
        f"number of batches{where}: ROOT {len(root_epoch)}, ours {len(our_epoch)}; "
        f"idx per batch ROOT {per_batch(root_epoch)}, ours {per_batch(our_epoch)}")
    assert layout(our_epoch) == layout(root_epoch), (
        f"shapes/dtypes{where}: ROOT {layout(root_epoch)}, ours {layout(our_epoch)}")
    assert per_batch(our_epoch) == per_batch(root_epoch), (
        f"idx per batch{where}: ROOT {per_batch(root_epoch)}, ours {per_batch(our_epoch)}")
    for i, (rb, ob) in enumerate(zip(root_epoch, our_epoch)):
        for j, (rp, op) in enumerate(zip(rb, ob)):
            np.testing.assert_array_equal(op, rp, err_msg=f"batch {i}, output {j}{where}")


def assert_same_sizes(root, ours, what: str = "") -> None:
    assert (ours.num_batches, ours.last_batch_no_of_rows) == (root.num_batches, root.last_batch_no_of_rows), (
        f"(num_batches, last_batch_no_of_rows) {what}: ROOT {(root.num_batches, root.last_batch_no_of_rows)}, "
        f"ours {(ours.num_batches, ours.last_batch_no_of_rows)}")


# --- order, split and seed --------------------------------------------------------------------------

def test_unshuffled_one_file_reads_in_file_order(files):
    root, ours = both(lambda: frame(files["one15"]), batch_size=4, target="label", shuffle=False,
                      drop_remainder=False)
    root_epoch = numpy_epoch(root)
    assert indices(root_epoch) == list(range(15))
    assert_same_epoch(root_epoch, numpy_epoch(ours))
    assert_same_sizes(root, ours)


def test_unshuffled_tchain_of_two_files_reads_in_file_order(files):
    root, ours = both(lambda: frame(files["a9"], files["b6"]), batch_size=4, target="label", shuffle=False,
                      drop_remainder=False)
    root_epoch = numpy_epoch(root)
    assert indices(root_epoch) == list(range(15))
    assert_same_epoch(root_epoch, numpy_epoch(ours))


@pytest.mark.parametrize("seed", [7, 42, 0])
def test_unshuffled_split_train_is_head_validation_is_tail_whatever_the_seed(files, seed):
    """ROOT: one cut, train = the first N - int(test_size*N) entries in file order, validation the rest."""
    _unshuffled_split_is_head_and_tail(files, set_seed=seed)


def _unshuffled_split_is_head_and_tail(files, **kwargs):
    """One dataframe over two files (15 entries), test_size 0.4: train entries 0-8, validation 9-14, in order."""
    root, ours = both(lambda: frame(files["a9"], files["b6"]), batch_size=4, target="label", shuffle=False,
                      drop_remainder=False, **kwargs)
    root_train, root_val = root.train_test_split(0.4)
    our_train, our_val = ours.train_test_split(0.4)
    rt, rv = numpy_epoch(root_train), numpy_epoch(root_val)
    assert (indices(rt), indices(rv)) == (list(range(9)), list(range(9, 15)))
    assert_same_epoch(rt, numpy_epoch(our_train), "train")
    assert_same_epoch(rv, numpy_epoch(our_val), "validation")
    assert_same_sizes(root_train, our_train, "train")
    assert_same_sizes(root_val, our_val, "validation")


def test_unshuffled_epochs_repeat_the_same_batches(files):
    root, ours = both(lambda: frame(files["one15"]), batch_size=4, target="label", shuffle=False)
    root_train, _ = root.train_test_split(0.4)
    our_train, _ = ours.train_test_split(0.4)
    first, second = numpy_epoch(root_train), numpy_epoch(root_train)
    assert_same_epoch(first, second, "ROOT, two epochs")
    assert_same_epoch(first, numpy_epoch(our_train), "epoch 1")
    assert_same_epoch(first, numpy_epoch(our_train), "epoch 2")


def test_seeded_shuffle_is_reproducible_and_a_permutation(files):
    """Both: the same seed gives the same first epoch in a new loader; every entry once per epoch.
    (ROOT repeats that order in every epoch; ours reshuffles each epoch, reproducibly.)"""
    for cls in (ROOT_LOADER, OUR_LOADER):
        a = numpy_epoch(cls(frame(files["s64"]), batch_size=8, target="label", set_seed=11))
        b = numpy_epoch(cls(frame(files["s64"]), batch_size=8, target="label", set_seed=11))
        assert indices(a) == indices(b), cls
        assert sorted(indices(a)) == list(range(64)), cls
        assert indices(a) != list(range(64)), cls


def test_shuffled_split_sizes_and_disjointness(files):
    """Shuffled, both splits are disjoint, cover the dataset, and have ROOT's sizes (here every
    cluster of 8 gives 6 to training and 2 to validation in ROOT, so the fractions are exact)."""
    _shuffled_split_has_roots_sizes(files, set_seed=3)


def _shuffled_split_has_roots_sizes(files, **kwargs):
    """64 entries, test_size 0.25, batches of 5: disjoint splits of 48 and 16 entries in both loaders."""
    root, ours = both(lambda: frame(files["s64"]), batch_size=5, target="label", drop_remainder=False, **kwargs)
    splits = {"ROOT": root.train_test_split(0.25), "ours": ours.train_test_split(0.25)}
    seen = {}
    for name, (train, val) in splits.items():
        t, v = indices(numpy_epoch(train)), indices(numpy_epoch(val))
        assert not set(t) & set(v), name
        assert sorted(t + v) == list(range(64)), name
        seen[name] = (len(t), len(v), train.num_batches, train.last_batch_no_of_rows,
                      val.num_batches, val.last_batch_no_of_rows)
    assert seen["ROOT"] == (48, 16, 10, 3, 4, 1)
    assert seen["ours"] == seen["ROOT"]


# --- load_eager -------------------------------------------------------------------------------------

def test_load_eager_unshuffled_split_matches(files):
    _unshuffled_split_is_head_and_tail(files, load_eager=True)


def test_load_eager_and_lazy_give_the_same_unshuffled_batches(files):
    """In ROOT (and ours) eager and lazy loading of one dataframe deliver the same unshuffled epoch."""
    epochs = {}
    for cls in (ROOT_LOADER, OUR_LOADER):
        for eager in (False, True):
            train, val = cls(frame(files["one15"]), batch_size=4, target="label", shuffle=False,
                             drop_remainder=False, load_eager=eager).train_test_split(0.2)
            epochs[cls, eager] = (numpy_epoch(train), numpy_epoch(val))
    for eager in (False, True):
        assert_same_epoch(epochs[ROOT_LOADER, eager][0], epochs[OUR_LOADER, eager][0], f"train, eager={eager}")
        assert_same_epoch(epochs[ROOT_LOADER, eager][1], epochs[OUR_LOADER, eager][1], f"val, eager={eager}")
    assert_same_epoch(epochs[ROOT_LOADER, False][0], epochs[ROOT_LOADER, True][0], "ROOT train, lazy vs eager")


def test_load_eager_shuffled_split_sizes(files):
    _shuffled_split_has_roots_sizes(files, set_seed=5, load_eager=True)


# --- lists of dataframes ----------------------------------------------------------------------------

def test_list_of_dataframes_unsplit_reads_them_in_order(files):
    root, ours = both(lambda: [frame(files["l12"]), frame(files["l8"])], batch_size=4, target="label",
                      shuffle=False, drop_remainder=False)
    root_epoch = numpy_epoch(root)
    assert indices(root_epoch) == list(range(12)) + list(range(100, 108))
    assert_same_epoch(root_epoch, numpy_epoch(ours))
    assert_same_sizes(root, ours)


def test_list_of_dataframes_split_lazy_differs_on_purpose(files):
    """Deliberate difference. ROOT's lazy loader makes one cut over the concatenation of the
    dataframes, so validation is the tail of the last dataframe only (here 5 entries of the second,
    none of the first). Ours takes each dataframe's share, its last test_size fraction, so that every
    source (e.g. signal and background) is validated; ROOT's own eager mode does the same."""
    root, ours = both(lambda: [frame(files["l12"]), frame(files["l8"])], batch_size=4, target="label",
                      shuffle=False, drop_remainder=False)
    root_train, root_val = root.train_test_split(0.25)
    our_train, our_val = ours.train_test_split(0.25)
    assert indices(numpy_epoch(root_train)) == list(range(12)) + list(range(100, 103))
    assert indices(numpy_epoch(root_val)) == list(range(103, 108))
    assert indices(numpy_epoch(our_train)) == list(range(9)) + list(range(100, 106))
    assert indices(numpy_epoch(our_val)) == [9, 10, 11, 106, 107]
    # the sizes are the same: 15 and 5
    assert (our_train.num_batches, our_val.num_batches) == (root_train.num_batches, root_val.num_batches)


def test_list_of_dataframes_split_eager_takes_each_dataframes_tail(files):
    """ROOT's eager loader splits each dataframe (first part training, last test_size validation) and
    concatenates the parts in the list's order."""
    root, ours = both(lambda: [frame(files["l12"]), frame(files["l8"])], batch_size=4, target="label",
                      shuffle=False, drop_remainder=False, load_eager=True)
    root_train, root_val = root.train_test_split(0.25)
    our_train, our_val = ours.train_test_split(0.25)
    rt, rv = numpy_epoch(root_train), numpy_epoch(root_val)
    assert indices(rt) == list(range(9)) + list(range(100, 106))
    assert indices(rv) == [9, 10, 11, 106, 107]
    assert_same_epoch(rt, numpy_epoch(our_train), "train")
    assert_same_epoch(rv, numpy_epoch(our_val), "validation")
    assert_same_sizes(root_train, our_train, "train")
    assert_same_sizes(root_val, our_val, "validation")


# --- drop_remainder and sizes -----------------------------------------------------------------------

@pytest.mark.parametrize("drop_remainder", [False, True])
def test_drop_remainder_and_batch_counts(files, drop_remainder):
    """15 entries, batch 4: ROOT gives 3 full batches and, without drop_remainder, a last one of 3.
    ROOT's last_batch_no_of_rows is entries % batch_size whether or not that batch is dropped."""
    root, ours = both(lambda: frame(files["one15"]), batch_size=4, target="label", shuffle=False,
                      drop_remainder=drop_remainder)
    root.as_numpy(), ours.as_numpy()
    assert_same_sizes(root, ours, "before the first epoch")
    root_epoch = numpy_epoch(root)
    assert [len(b[0]) for b in root_epoch] == ([4, 4, 4] if drop_remainder else [4, 4, 4, 3])
    assert (root.num_batches, root.last_batch_no_of_rows) == (3 if drop_remainder else 4, 3)
    assert_same_epoch(root_epoch, numpy_epoch(ours))
    assert_same_sizes(root, ours)


@pytest.mark.parametrize("drop_remainder", [False, True])
def test_batch_larger_than_dataset(files, drop_remainder):
    root, ours = both(lambda: frame(files["one15"]), batch_size=20, target="label", shuffle=False,
                      drop_remainder=drop_remainder)
    root_epoch = numpy_epoch(root)
    assert [len(b[0]) for b in root_epoch] == ([] if drop_remainder else [15])
    assert_same_epoch(root_epoch, numpy_epoch(ours))
    assert_same_sizes(root, ours)


# --- filters ----------------------------------------------------------------------------------------

def test_filter_unshuffled_in_order(files):
    """``idx % 3 != 0`` keeps 4 of each cluster of 6; with batch 4 ROOT's chunks hold whole batches, so
    its unshuffled epoch is in file order. Compared over two epochs (ROOT discovers the passing entries
    in its first)."""
    make = lambda: frame(files["f24"]).Filter("idx % 3 != 0")  # noqa: E731
    root, ours = both(make, batch_size=4, target="label", shuffle=False, drop_remainder=False)
    expected = [i for i in range(24) if i % 3]
    for epoch in (1, 2):
        root_epoch = numpy_epoch(root)
        assert indices(root_epoch) == expected, epoch
        assert_same_epoch(root_epoch, numpy_epoch(ours), f"epoch {epoch}")
    assert_same_sizes(root, ours)


def test_filter_unshuffled_chunk_order_differs_on_purpose(files):
    """Deliberate difference. ROOT's first epoch over a filtered dataframe reads one cluster per chunk,
    cuts each chunk into full batches and carries its remainder over to a batch completed by later
    chunks' remainders, so an unshuffled epoch comes out of order: clusters of 6 keep 4 entries, batch
    3, so the remainders 4, 10 and 16 of the first three clusters form a batch after entries 13-15.
    Ours delivers an unshuffled epoch in file order; the entries and batch sizes are the same."""
    make = lambda: frame(files["f24"]).Filter("idx % 6 != 0 && idx % 6 != 5")  # noqa: E731
    root, ours = both(make, batch_size=3, target="label", shuffle=False, drop_remainder=False)
    expected = [i for i in range(24) if i % 6 not in (0, 5)]
    root_epoch, our_epoch = numpy_epoch(root), numpy_epoch(ours)
    assert sorted(indices(root_epoch)) == expected
    assert indices(root_epoch) != expected
    assert per_batch(root_epoch) == [[1, 2, 3], [7, 8, 9], [13, 14, 15], [4, 10, 16], [19, 20, 21], [22]]
    assert indices(our_epoch) == expected
    assert [len(b[0]) for b in our_epoch] == [len(b[0]) for b in root_epoch]


@pytest.mark.parametrize("seed", [1, 42])
def test_filter_split_lazy_sizes_and_tail(files, seed):
    """ROOT's lazy loader on a filtered dataframe makes int((1 - test_size) * passing) training entries
    and splits cluster by cluster while it discovers the passing entries: each cluster's first
    passing entries train, its last validate (here the last passing entry of every cluster of 6).
    Ours gives the same sizes and, unshuffled, the dataframe's tail as validation, the meaning
    ROOT documents for unshuffled splits and applies in its eager mode (next test)."""
    make = lambda: frame(files["f24"]).Filter("idx % 3 != 0")  # noqa: E731
    root, ours = both(make, batch_size=4, target="label", shuffle=False, drop_remainder=False, set_seed=seed)
    root_train, root_val = root.train_test_split(0.25)
    our_train, our_val = ours.train_test_split(0.25)
    passing = [i for i in range(24) if i % 3]
    rt = indices(numpy_epoch(root_train))
    rv = indices(numpy_epoch(root_val))
    assert (len(rt), len(rv)) == (12, 4)
    assert rv == [5, 11, 17, 23]
    assert indices(numpy_epoch(our_train)) == passing[:12]
    assert indices(numpy_epoch(our_val)) == passing[12:]
    assert_same_sizes(root_train, our_train, "train")
    assert_same_sizes(root_val, our_val, "validation")


@pytest.mark.parametrize("seed", [1, 42])
def test_filter_split_eager_takes_the_tail(files, seed):
    make = lambda: frame(files["f24"]).Filter("idx % 3 != 0")  # noqa: E731
    root, ours = both(make, batch_size=4, target="label", shuffle=False, drop_remainder=False, load_eager=True,
                      set_seed=seed)
    root_train, root_val = root.train_test_split(0.25)
    our_train, our_val = ours.train_test_split(0.25)
    passing = [i for i in range(24) if i % 3]
    rt, rv = numpy_epoch(root_train), numpy_epoch(root_val)
    assert (indices(rt), indices(rv)) == (passing[:12], passing[12:])
    assert_same_epoch(rt, numpy_epoch(our_train), "train")
    assert_same_epoch(rv, numpy_epoch(our_val), "validation")
    assert_same_sizes(root_train, our_train, "train")
    assert_same_sizes(root_val, our_val, "validation")


# --- columns, vectors, targets, weights -------------------------------------------------------------

def test_column_selection_order_and_attributes(files):
    """Columns come in the order given (y before x here; the same column types as the other tests,
    so that no engine is compiled for this one)."""
    kwargs = dict(batch_size=4, columns=["idx", "label", "y", "x"], target="label", shuffle=False,
                  drop_remainder=False)
    root, ours = both(lambda: frame(files["one15"]), **kwargs)
    root_train, root_val = root.train_test_split(0.4)
    our_train, our_val = ours.train_test_split(0.4)
    for r, o in ((root_train, our_train), (root_val, our_val)):
        assert list(o.columns) == list(r.columns) == ["idx", "label", "y", "x"]
        assert list(o.train_columns) == list(r.train_columns) == ["idx", "y", "x"]
        assert list(o.target_columns) == list(r.target_columns) == ["label"]
        assert o.weights_column == r.weights_column == ""
    rt = numpy_epoch(root_train)
    np.testing.assert_array_equal(rt[0][0][:, 2], [0, 0.5, 1, 1.5])  # x is the last feature
    assert_same_epoch(rt, numpy_epoch(our_train), "train")
    assert_same_epoch(numpy_epoch(root_val), numpy_epoch(our_val), "validation")


def test_all_columns_by_default(files):
    root, ours = both(lambda: frame(files["one15"]), batch_size=4, target="label", shuffle=False)
    numpy_epoch(root)
    assert sorted(ours.columns) == sorted(root.columns) == ["idx", "label", "x", "y"]
    assert sorted(ours.train_columns) == sorted(root.train_columns)


def test_no_target_gives_x_only(files):
    root, ours = both(lambda: frame(files["one15"]), batch_size=4, shuffle=False, drop_remainder=False)
    root_batches = list(root.as_numpy())
    assert isinstance(root_batches[0], np.ndarray)
    our_batches = list(ours.as_numpy())
    assert isinstance(our_batches[0], np.ndarray)
    assert_same_epoch(numpy_epoch(root), numpy_epoch(ours))
    assert list(ours.target_columns) == list(root.target_columns) == []


def test_vector_columns_padded_and_truncated(files):
    """``v`` holds idx % 5 values: shorter ones are padded with vec_padding, longer ones truncated to
    max_vec_sizes; the columns appear as v_0 .. v_{n-1}."""
    kwargs = dict(batch_size=3, columns=["idx", "v", "label"], max_vec_sizes={"v": 3}, vec_padding=-1,
                  target="label", shuffle=False, drop_remainder=False)
    root, ours = both(lambda: frame(files["vec"]), **kwargs)
    root_epoch = numpy_epoch(root)
    x = np.concatenate([b[0] for b in root_epoch])
    np.testing.assert_array_equal(x[2], [2, 20, 21, -1])  # two values, one padding
    np.testing.assert_array_equal(x[4], [4, 40, 41, 42])  # four values, truncated to three
    assert list(root.columns) == ["idx", "v_0", "v_1", "v_2", "label"]
    assert list(ours.columns) == list(root.columns)
    assert list(ours.train_columns) == list(root.train_columns) == ["idx", "v_0", "v_1", "v_2"]
    assert_same_epoch(root_epoch, numpy_epoch(ours))


def test_vector_column_missing_size_raises(files):
    for cls in (ROOT_LOADER, OUR_LOADER):
        with pytest.raises(ValueError):  # ROOT checks when its engine is built, at the first as_* or split
            cls(frame(files["vec"]), batch_size=3, columns=["idx", "v", "label"], target="label").as_numpy()


def test_several_targets(files):
    root, ours = both(lambda: frame(files["one15"]), batch_size=4, target=["label", "y"], shuffle=False,
                      drop_remainder=False)
    root_epoch = numpy_epoch(root)
    assert root_epoch[0][0].shape == (4, 2) and root_epoch[0][1].shape == (4, 2)
    assert list(root.target_columns) == ["label", "y"]
    assert list(ours.target_columns) == list(root.target_columns)
    assert list(ours.train_columns) == list(root.train_columns) == ["idx", "x"]
    assert_same_epoch(root_epoch, numpy_epoch(ours))


def test_weights_column(files):
    kwargs = dict(batch_size=4, target="label", weights="y", shuffle=False, drop_remainder=False)
    root, ours = both(lambda: frame(files["one15"]), **kwargs)
    root_train, root_val = root.train_test_split(0.4)
    our_train, our_val = ours.train_test_split(0.4)
    rt = numpy_epoch(root_train)
    assert [p.shape for p in rt[0]] == [(4, 2), (4, 1), (4, 1)]
    np.testing.assert_array_equal(rt[0][2][:, 0], [0, 1, 2, 3])  # y = idx % 7
    assert our_train.weights_column == root_train.weights_column == "y"
    assert list(our_train.train_columns) == list(root_train.train_columns) == ["idx", "x"]
    assert_same_epoch(rt, numpy_epoch(our_train), "train")
    assert_same_epoch(numpy_epoch(root_val), numpy_epoch(our_val), "validation")


def test_weights_with_several_targets(files):
    root, ours = both(lambda: frame(files["one15"]), batch_size=4, target=["label", "x"], weights="y",
                      shuffle=False, drop_remainder=False)
    root_epoch = numpy_epoch(root)
    assert [p.shape for p in root_epoch[0]] == [(4, 1), (4, 2), (4, 1)]
    assert_same_epoch(root_epoch, numpy_epoch(ours))


def test_weights_without_target_raises(files):
    for cls in (ROOT_LOADER, OUR_LOADER):
        with pytest.raises(ValueError):
            cls(frame(files["one15"]), batch_size=4, weights="y").as_numpy()


def test_unknown_target_raises(files):
    """ROOT raises ValueError for a target that is not among the columns; code written for it catches that."""
    for cls in (ROOT_LOADER, OUR_LOADER):
        with pytest.raises(ValueError):
            cls(frame(files["one15"]), batch_size=4, target="nope").as_numpy()


@pytest.mark.parametrize("test_size", [0.0, 1.0])
def test_split_outside_zero_one_raises(files, test_size):
    for cls in (ROOT_LOADER, OUR_LOADER):
        with pytest.raises(ValueError):
            cls(frame(files["one15"]), batch_size=4, target="label").train_test_split(test_size)


def test_split_after_unsplit_use_raises(files):
    """The loader is built with its split at the first use: an unsplit epoch, then a split, is refused."""
    for cls in (ROOT_LOADER, OUR_LOADER):
        loader = cls(frame(files["one15"]), batch_size=4, target="label")
        numpy_epoch(loader)
        with pytest.raises(RuntimeError):
            loader.train_test_split(0.2)


# --- outputs ----------------------------------------------------------------------------------------

def test_torch_output(files):
    root, ours = both(lambda: frame(files["one15"]), batch_size=4, target="label", weights="y", shuffle=False,
                      drop_remainder=False)
    root_train, _ = root.train_test_split(0.4)
    our_train, _ = ours.train_test_split(0.4)
    rt = torch_epoch(root_train)
    assert [p.shape for p in rt[-1]] == [(1, 2), (1, 1), (1, 1)]
    assert_same_epoch(rt, torch_epoch(our_train))


def test_tensorflow_output_last_batch_differs_on_purpose(files):
    """Full batches are the same. Deliberate difference: ROOT pads TensorFlow's last partial batch
    with zero rows up to batch_size (fake events with label 0 and weight 0), because its
    ``tf.data`` signature has a fixed batch dimension; ours gives exactly the real rows."""
    pytest.importorskip("tensorflow")
    root, ours = both(lambda: frame(files["one15"]), batch_size=4, target="label", weights="y", shuffle=False,
                      drop_remainder=False)
    root_epoch, our_epoch = tf_epoch(root), tf_epoch(ours)
    assert [tuple(p.shape for p in b) for b in root_epoch] == [((4, 2), (4, 1), (4, 1))] * 4
    assert [tuple(p.shape for p in b) for b in our_epoch] == [((4, 2), (4, 1), (4, 1))] * 3 + [((3, 2), (3, 1),
                                                                                                  (3, 1))]
    assert_same_epoch(root_epoch[:3], our_epoch[:3], "full batches")
    for rp, op in zip(root_epoch[3], our_epoch[3]):
        np.testing.assert_array_equal(rp[:3], op)
        assert not rp[3:].any()  # ROOT's padding rows
    assert all(p.dtype == np.float32 for b in our_epoch for p in b)


def test_tensorflow_output_unsplit_no_weights(files):
    pytest.importorskip("tensorflow")
    root, ours = both(lambda: frame(files["one15"]), batch_size=5, target="label", shuffle=False)
    assert_same_epoch(tf_epoch(root), tf_epoch(ours))


# --- train and validation within one epoch ----------------------------------------------------------

@pytest.mark.parametrize("eager", [False, True])
def test_switching_between_train_and_validation_within_an_epoch(files, eager):
    """next of validation, next of training, next of validation: each iterator goes on where it was."""
    root, ours = both(lambda: frame(files["a9"], files["b6"]), batch_size=3, target="label", shuffle=False,
                      drop_remainder=False, load_eager=eager)
    got = {}
    for name, loader in (("ROOT", root), ("ours", ours)):
        train, val = loader.train_test_split(0.4)
        val_it, train_it = iter(val.as_numpy()), iter(train.as_numpy())
        steps = [next(val_it), next(train_it), next(val_it), next(train_it)]
        got[name] = [[int(v) for v in np.asarray(b[0])[:, 0]] for b in steps]
        # both iterators finish their epochs
        got[name].append([int(v) for b in train_it for v in np.asarray(b[0])[:, 0]])
        got[name].append([int(v) for b in val_it for v in np.asarray(b[0])[:, 0]])
    assert got["ROOT"] == [[9, 10, 11], [0, 1, 2], [12, 13, 14], [3, 4, 5], [6, 7, 8], []]
    assert got["ours"] == got["ROOT"]


# --- resampling: two dataframes, majority and minority ----------------------------------------------
# ROOT (load_eager=True): each dataframe is split first (its last int(test_size*N) entries validate),
# then each split is resampled on its own: undersampling keeps int(minority / ratio) majority entries
# and every minority entry; oversampling draws int(ratio * majority) minority entries and keeps every
# majority entry. Unshuffled, ROOT takes the first majority entries (undersampling) or the minority
# entries cyclically (oversampling), and puts [majority sample, minority] resp. [minority sample,
# majority] one after the other. The target plays no part. (Ours does the same without load_eager, and
# refuses anything but two dataframes: test_sampling.py.)

def _sampling_pair(files, **kwargs):
    make = lambda: [frame(files["major"]), frame(files["minor"])]  # noqa: E731
    return both(make, batch_size=5, target="label", load_eager=True, **kwargs)


def _composition(epoch) -> tuple[int, int]:
    idx = indices(epoch)
    return sum(i < 100 for i in idx), sum(i >= 100 for i in idx)


def test_undersampling_unshuffled_batches(files):
    root, ours = _sampling_pair(files, shuffle=False, drop_remainder=False, sampling_type="undersampling",
                                sampling_ratio=0.5)
    root_train, root_val = root.train_test_split(0.2)
    our_train, our_val = ours.train_test_split(0.2)
    rt, rv = numpy_epoch(root_train), numpy_epoch(root_val)
    # training: majority 32 -> int(8 / 0.5) = 16 kept (its first 16), minority 8; validation: 4 + 2
    assert indices(rt) == list(range(16)) + list(range(100, 108))
    assert indices(rv) == [32, 33, 34, 35, 108, 109]
    assert (root_train.num_batches, root_train.last_batch_no_of_rows) == (5, 4)
    assert (root_val.num_batches, root_val.last_batch_no_of_rows) == (2, 1)
    assert_same_epoch(rt, numpy_epoch(our_train), "train")
    assert_same_epoch(rv, numpy_epoch(our_val), "validation")
    assert_same_sizes(root_train, our_train, "train")
    assert_same_sizes(root_val, our_val, "validation")


def test_oversampling_unshuffled_batches(files):
    root, ours = _sampling_pair(files, shuffle=False, drop_remainder=False, sampling_type="oversampling",
                                sampling_ratio=0.5)
    root_train, root_val = root.train_test_split(0.2)
    our_train, our_val = ours.train_test_split(0.2)
    rt, rv = numpy_epoch(root_train), numpy_epoch(root_val)
    # training: minority 8 -> int(0.5 * 32) = 16 drawn cyclically, then the 32 majority entries
    assert indices(rt) == list(range(100, 108)) * 2 + list(range(32))
    # validation: minority 2 -> int(0.5 * 8) = 4, then the 8 majority entries
    assert indices(rv) == [108, 109, 108, 109] + list(range(32, 40))
    assert (root_train.num_batches, root_train.last_batch_no_of_rows) == (10, 3)
    assert (root_val.num_batches, root_val.last_batch_no_of_rows) == (3, 2)
    assert_same_epoch(rt, numpy_epoch(our_train), "train")
    assert_same_epoch(rv, numpy_epoch(our_val), "validation")
    assert_same_sizes(root_train, our_train, "train")
    assert_same_sizes(root_val, our_val, "validation")


def test_resampling_majority_is_the_larger_dataframe_whatever_the_order(files):
    """The list may give the minority first: ROOT decides by size."""
    make = lambda: [frame(files["minor"]), frame(files["major"])]  # noqa: E731
    root, ours = both(make, batch_size=5, target="label", load_eager=True, shuffle=False, drop_remainder=False,
                      sampling_type="undersampling", sampling_ratio=0.5)
    rt, ot = numpy_epoch(root), numpy_epoch(ours)
    assert indices(rt) == list(range(20)) + list(range(100, 110))
    assert_same_epoch(rt, ot)
    assert_same_sizes(root, ours)


@pytest.mark.parametrize("target", ["x", ["label", "x"]], ids=["regression_target", "two_targets"])
def test_resampling_ignores_the_target_values(files, target):
    """ROOT resamples dataframes, not classes: a regression target (x) or several targets resample
    the same way as the label would."""
    make = lambda: [frame(files["major"]), frame(files["minor"])]  # noqa: E731
    root, ours = both(make, batch_size=5, target=target, load_eager=True, shuffle=False, drop_remainder=False,
                      sampling_type="undersampling", sampling_ratio=1.0)
    rt = numpy_epoch(root)
    assert indices(rt) == list(range(10)) + list(range(100, 110))
    assert_same_epoch(rt, numpy_epoch(ours))


@pytest.mark.parametrize("sampling_type, ratio, replacement, expected", [
    # (majority, minority) entries per epoch, training then validation, for 32/8 and 8/2 entries
    ("undersampling", 0.5, False, ((16, 8), (4, 2))),
    ("undersampling", 1.0, False, ((8, 8), (2, 2))),
    # more than the majority: needs replacement
    ("undersampling", 0.125, True, ((64, 8), (16, 2))),
    ("oversampling", 1.0, False, ((32, 32), (8, 8))),
    ("oversampling", 0.25, False, ((32, 8), (8, 2))),
])
def test_resampling_shuffled_composition_and_sizes(files, sampling_type, ratio, replacement, expected):
    root, ours = _sampling_pair(files, set_seed=9, drop_remainder=False, sampling_type=sampling_type,
                                sampling_ratio=ratio, replacement=replacement)
    splits = {"ROOT": root.train_test_split(0.2), "ours": ours.train_test_split(0.2)}
    seen = {}
    for name, (train, val) in splits.items():
        t, v = numpy_epoch(train), numpy_epoch(val)
        seen[name] = (_composition(t), _composition(v), train.num_batches, train.last_batch_no_of_rows,
                      val.num_batches, val.last_batch_no_of_rows)
        assert set(indices(t)).isdisjoint(indices(v)), name
    (tmaj, tmin), (vmaj, vmin) = expected
    assert seen["ROOT"] == ((tmaj, tmin), (vmaj, vmin), -(-(tmaj + tmin) // 5), (tmaj + tmin) % 5,
                            -(-(vmaj + vmin) // 5), (vmaj + vmin) % 5)
    assert seen["ours"] == seen["ROOT"]


def test_undersampling_ratio_too_low_without_replacement_raises(files):
    """int(8 / 0.125) = 64 majority entries are wanted, 32 exist: ROOT refuses without replacement
    (with cppyy's std::invalid_argument, which is no ValueError; ours raises a ValueError)."""
    for cls, error in ((ROOT_LOADER, Exception), (OUR_LOADER, ValueError)):
        with pytest.raises(error, match="sampling_ratio"):
            cls([frame(files["major"]), frame(files["minor"])], batch_size=5, target="label", load_eager=True,
                sampling_type="undersampling", sampling_ratio=0.125).train_test_split(0.2)
