"""RDataLoader.save: the prepared dataset, written once and read back as the same batches on the fast path."""

from __future__ import annotations

import numpy as np
import pytest

import ROOT
import rdataloader
from rdataloader import _save

#: A Filter, a Define, a vector column and class weights: what the saved file must hold already applied.
OPTIONS = dict(batch_size=64, target="label", columns=["idx", "v", "y", "label"], max_vec_sizes={"v": 3},
               class_weights="balanced", set_seed=5)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> str:
    """1000 entries: idx, label = idx % 2, v = [idx, 2 idx] (RVec<float>), x = idx / 2; clusters of 100."""
    path = str(tmp_path_factory.mktemp("save") / "input.root")
    df = ROOT.RDataFrame(1000).Define("idx", "(int)rdfentry_").Define("label", "idx % 2")
    df = df.Define("v", "ROOT::RVecF{(float)idx, 2.f * idx}").Define("x", "0.5 * idx")
    options = ROOT.RDF.RSnapshotOptions()
    options.fAutoFlush = 100
    df.Snapshot("tree", path, ["idx", "label", "v", "x"], options)
    return path


def selection(path: str):
    return ROOT.RDataFrame("tree", path).Filter("idx % 3 != 0").Define("y", "x * 2")


def epoch(loader) -> list[tuple[np.ndarray, ...]]:
    return [tuple(np.array(a) for a in batch) for batch in loader.as_numpy()]


def assert_same_batches(got, expected) -> None:
    assert len(got) == len(expected) > 0
    for a, b in zip(got, expected):
        assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def read_back(path, **options):
    record = rdataloader.saved_record(path)
    return ROOT.ML.RDataLoader(ROOT.RDataFrame(record["name"], str(path)), shuffle=False, **options,
                               **record["loader_options"])


@pytest.mark.parametrize("shuffle", [True, "global"])
@pytest.mark.parametrize("format", ["rntuple", "ttree"])
def test_a_saved_epoch_reads_back_as_the_same_batches_on_the_fast_path(prepared, tmp_path, format, shuffle):
    # The reference: the first epoch of a second loader with the same options, which save() must write.
    expected = epoch(ROOT.ML.RDataLoader(selection(prepared), shuffle=shuffle, **OPTIONS))
    loader = ROOT.ML.RDataLoader(selection(prepared), shuffle=shuffle, **OPTIONS)
    path = loader.save(tmp_path / "prepared.root", format=format)

    back = read_back(path, batch_size=OPTIONS["batch_size"])
    assert_same_batches(epoch(back), expected)
    assert set(back.stats()["read_paths"].values()) == {"RNTuple pages" if format == "rntuple" else "TTree baskets"}
    record = rdataloader.saved_record(path)
    assert record["entries"] == sum(len(batch[0]) for batch in expected)
    assert record["made_by"]["epoch"] == 0 and record["made_by"]["shuffle"] == shuffle
    # Saving was this loader's first epoch: its next one is the reference's second.
    reference = ROOT.ML.RDataLoader(selection(prepared), shuffle=shuffle, **OPTIONS)
    epoch(reference)
    assert_same_batches(epoch(loader), epoch(reference))


def test_the_splits_save_disjoint_parts_of_every_entry_that_passes(prepared, tmp_path):
    train, val = ROOT.ML.RDataLoader(selection(prepared), batch_size=50, target="label", columns=["idx", "label"],
                                     drop_remainder=False).train_test_split(0.3)
    saved = {split: split_loader.save(tmp_path / f"{split}.root")
             for split, split_loader in (("train", train), ("validation", val))}
    indices = {split: ROOT.RDataFrame("events", str(path)).AsNumpy(["idx"])["idx"] for split, path in saved.items()}
    passing = selection(prepared).AsNumpy(["idx"])["idx"]
    assert not set(indices["train"]) & set(indices["validation"])
    assert sorted(np.concatenate(list(indices.values()))) == sorted(passing)
    assert len(indices["validation"]) == round(0.3 * len(passing))
    assert rdataloader.saved_record(saved["validation"])["made_by"]["split"] == "validation"


def test_the_record_keeps_the_normalization_and_the_values_are_saved_normalized(prepared, tmp_path):
    loader = ROOT.ML.RDataLoader(selection(prepared), batch_size=64, target="label", columns=["idx", "y", "label"],
                                 normalize="standard", shuffle=False)
    expected = epoch(ROOT.ML.RDataLoader(selection(prepared), batch_size=64, target="label",
                                         columns=["idx", "y", "label"], normalize="standard", shuffle=False))
    path = loader.save(tmp_path / "normalized.root")
    record = rdataloader.saved_record(path)
    assert rdataloader.Normalization(**{k: tuple(v) for k, v in record["normalization"].items()}) == loader.normalization
    assert_same_batches(epoch(read_back(path, batch_size=64)), expected)


def test_weights_of_a_column_keep_its_name_and_other_dtypes_are_recorded(prepared, tmp_path):
    df = selection(prepared).Define("w", "1.0 + idx % 4")
    options = dict(batch_size=32, target="label", weights="w", columns=["idx", "label", "w"],
                   dtypes={"idx": "int64", "label": "int32"}, shuffle=False)
    expected = epoch(ROOT.ML.RDataLoader(df, **options))
    path = ROOT.ML.RDataLoader(df, **options).save(tmp_path / "weighted.root", format="ttree")
    record = rdataloader.saved_record(path)
    assert record["loader_options"]["weights"] == "w"
    assert record["loader_options"]["dtypes"] == {"idx": "int64", "label": "int32"}
    assert_same_batches(epoch(read_back(path, batch_size=32)), expected)


def test_bad_saves_raise_before_writing_and_an_interrupted_one_leaves_no_file(prepared, tmp_path, monkeypatch):
    loader = ROOT.ML.RDataLoader(selection(prepared), batch_size=64, target="label", columns=["idx", "label"])
    existing = tmp_path / "existing.root"
    existing.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        loader.save(existing)
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(ValueError, match="choose 'rntuple' or 'ttree'"):
        loader.save(tmp_path / "x.root", format="parquet")
    with pytest.raises(ValueError, match="non-empty name"):
        loader.save(tmp_path / "x.root", name="")
    collections = ROOT.ML.RDataLoader(selection(prepared), batch_size=64, target="label", columns=["idx", "label"],
                                      collections={"objects": (["v"], 2)})
    with pytest.raises(ValueError, match="collections cannot be saved"):
        collections.save(tmp_path / "x.root")

    fill, calls = _save._fill, []

    def fail_after_the_first_batch(writer, arrays, columns):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt  # Ctrl-C
        fill(writer, arrays, columns)

    monkeypatch.setattr(_save, "_fill", fail_after_the_first_batch)
    with pytest.raises(KeyboardInterrupt):
        loader.save(tmp_path / "interrupted.root")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.root"]
    monkeypatch.undo()
    overwritten = loader.save(existing, overwrite=True)
    assert rdataloader.saved_record(overwritten)["entries"] > 0

    # A loaded state in the middle of an epoch: save() would write only its rest.
    batches = iter(loader.as_numpy())
    next(batches)
    state = loader.state_dict()
    batches.close()
    loader.load_state_dict(state)
    with pytest.raises(RuntimeError, match="resumes a loaded state"):
        loader.save(tmp_path / "half.root")
    assert not (tmp_path / "half.root").exists()


def test_a_file_not_written_by_save_has_no_record(prepared):
    with pytest.raises(ValueError, match="was not written by RDataLoader.save"):
        rdataloader.saved_record(prepared)


def test_weights_from_no_column_cannot_take_the_name_of_a_loaded_column(prepared, tmp_path):
    df = selection(prepared).Define("weight", "1.0f")
    loader = ROOT.ML.RDataLoader(df, batch_size=64, target="label", columns=["idx", "weight", "label"],
                                 class_weights="balanced")
    with pytest.raises(ValueError, match="names the weights column 'weight', but the loader has a column of that"):
        loader.save(tmp_path / "clash.root")
    assert not (tmp_path / "clash.root").exists()
