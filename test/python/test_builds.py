"""Dataframes built once per reading thread (a function given as ``rdataframes``): their event loops compute the
Defines and Filters of each read side by side, and the batches are those of the same dataframe built once.

The files (a TTree and an RNTuple of the same NanoAOD-like events, written by Snapshot) hold clusters of
30000 entries, so that a read is large enough to be cut into a part for each of three builds."""

from __future__ import annotations

import numpy as np
import pytest

import ROOT

ENTRIES = 60_000
CLUSTER = 30_000
JETS = 4
DEFINES = {"HT": "Sum(Jet_pt)", "nGoodJet": "(int)Sum(Jet_pt > 30)", "GoodJet_pt": "Jet_pt[Jet_pt > 30]",
           "even": "(int)(idx % 2 == 0)"}
FILTER = "nJet >= 1"
SIZES = {"Jet_pt": JETS, "GoodJet_pt": JETS}
BUILD_PROBE = "rdl_build_probe"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """The events as a TTree and as an RNTuple: idx, MET_pt, nJet (0 to 5) jets' Jet_pt, label."""
    directory = tmp_path_factory.mktemp("builds")
    df = (ROOT.RDataFrame(ENTRIES).Define("idx", "(Long64_t)rdfentry_")
          .Define("MET_pt", "(float)(idx % 101) * 0.5f")
          .Define("nJet", "(int)(idx % 6)")
          .Define("Jet_pt", "ROOT::RVecF v(nJet); for (int j = 0; j < nJet; ++j) "
                            "v[j] = 10.f + (float)((idx * 7 + j * 13) % 60); return v;")
          .Define("label", "(int)(idx % 2)"))
    paths = {}
    for kind in ("ttree", "rntuple"):
        options = ROOT.RDF.RSnapshotOptions()
        if kind == "rntuple":
            options.fOutputFormat = ROOT.RDF.ESnapshotOutputFormat.kRNTuple
        else:
            options.fAutoFlush = CLUSTER
        paths[kind] = str(directory / f"events_{kind}.root")
        df.Snapshot("Events", paths[kind], ["idx", "MET_pt", "nJet", "Jet_pt", "label"], options)
    return paths


def analysis(path: str, probe: int | None = None):
    """What a user builds: the events, three Defines and a Filter; with ``probe``, a column telling which build
    computed each entry (the loader cannot tell that it differs between builds)."""
    df = ROOT.RDataFrame("Events", path)
    for name, expression in DEFINES.items():
        df = df.Define(name, expression)
    if probe is not None:
        df = df.Define(BUILD_PROBE, f"(int){probe}")
    return df.Filter(FILTER)


def loader_options(columns, **extra) -> dict:
    kwargs = dict(batch_size=500, columns=[*columns, "even"], target="even", vec_padding=-1, set_seed=11,
                  max_vec_sizes={c: SIZES[c] for c in columns if c in SIZES}, progress=False)
    kwargs.update(extra)
    return kwargs


def epochs(loader, count: int = 2) -> list[list[bytes]]:
    return [[np.asarray(x).tobytes() + np.asarray(y).tobytes() for x, y in loader.as_numpy()] for _ in range(count)]


def reference_rows(path: str, columns: list[str]) -> np.ndarray:
    """The loader's rows computed from AsNumpy of the dataframe built once: vectors padded with -1."""
    arrays = ROOT.RDF.AsRNode(analysis(path)).AsNumpy(columns)
    blocks = []
    for c in columns:
        if c in SIZES:
            block = np.full((len(arrays[c]), SIZES[c]), -1.0, dtype=np.float32)
            for i, values in enumerate(arrays[c]):
                kept = np.asarray(values, dtype=np.float32)[: SIZES[c]]
                block[i, : len(kept)] = kept
        else:
            block = np.asarray(arrays[c], dtype=np.float32)[:, None]
        blocks.append(block)
    return np.hstack(blocks)


@pytest.mark.parametrize("kind", ["ttree", "rntuple"])
@pytest.mark.parametrize("stored", [True, False], ids=["defines-beside-stored-columns", "defines-only"])
def test_builds_deliver_the_batches_of_the_dataframe_built_once(files, kind, stored):
    columns = (["idx", "MET_pt", "Jet_pt"] if stored else []) + ["HT", "nGoodJet", "GoodJet_pt"]
    path = files[kind]
    once = ROOT.ML.RDataLoader(analysis(path), **loader_options(columns))
    expected = epochs(once)
    for threads in (2, 3):
        built = ROOT.ML.RDataLoader(lambda: analysis(path), **loader_options(columns, read_threads=threads))
        assert epochs(built) == expected, threads
        why = "a Define" if stored else "every column is a Define"
        assert built.stats()["read_paths"]["HT"] == f"event loops of {threads} builds ({why})"
    # Every passing entry once per epoch, with its values: against AsNumpy, in the order of the files.
    in_order = ROOT.ML.RDataLoader(lambda: analysis(path),
                                   **loader_options(columns, shuffle=False, drop_remainder=False))
    rows = np.concatenate([np.asarray(x) for x, _ in in_order.as_numpy()])
    np.testing.assert_array_equal(rows, reference_rows(path, columns))


@pytest.mark.parametrize("kind", ["ttree", "rntuple"])
def test_every_build_computes_a_part_of_each_read(files, kind):
    builds = iter(range(3))
    loader = ROOT.ML.RDataLoader(lambda: analysis(files[kind], probe=next(builds)),
                                 **loader_options(["idx", "HT", BUILD_PROBE], read_threads=3, shuffle=False))
    rows = np.concatenate([np.asarray(x) for x, _ in loader.as_numpy()])
    assert np.all(np.diff(rows[:, 0]) > 0)
    # Each read (a cluster) is cut into consecutive parts, one per build: the builds take turns along the files.
    built_by = rows[:, 2].astype(int)
    runs = built_by[np.r_[0, np.flatnonzero(np.diff(built_by)) + 1]]
    assert len(runs) >= 3 and list(runs) == [0, 1, 2] * (len(runs) // 3), runs


def test_a_function_building_the_same_dataframe_twice_is_refused(files):
    df = analysis(files["ttree"])
    with pytest.raises(ValueError, match="must create new RDataFrames"):
        ROOT.ML.RDataLoader(lambda: df, **loader_options(["HT"])).num_batches


def test_builds_with_other_operations_are_refused(files):
    builds = iter([analysis(files["ttree"]), analysis(files["ttree"]).Define("extra", "1")])
    with pytest.raises(ValueError, match="differs from the first in dataframe 0"):
        ROOT.ML.RDataLoader(lambda: next(builds), **loader_options(["HT"])).num_batches


def test_builds_of_different_numbers_of_dataframes_are_refused(files):
    builds = iter([[analysis(files["ttree"])], [analysis(files["ttree"]), analysis(files["rntuple"])]])
    with pytest.raises(ValueError, match="holds 2 dataframes and the first 1"):
        ROOT.ML.RDataLoader(lambda: next(builds), **loader_options(["HT"])).num_batches


def test_a_function_returning_no_dataframe_is_refused():
    with pytest.raises(TypeError, match="must return an RDataFrame or a list of them; it returned 42"):
        ROOT.ML.RDataLoader(lambda: 42, **loader_options(["HT"]))
