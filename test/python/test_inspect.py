"""``python -m rdataloader inspect``: the columns, types, entries and clusters it reports are the file's, and the
reading path it names for each column is the one a loader over that column takes."""

from __future__ import annotations

import subprocess
import sys

import pytest

import ROOT

from rdataloader._inspect import inspect_file

WRITER = r"""
#include <TFile.h>
#include <TTree.h>
#include <string>
#include <vector>
namespace rdl_inspect_test {
// 1000 entries in clusters of 100: a NanoAOD-like array with its counter, a std::vector, a string, and two
// branches only the event loop reads (a fixed-size array, a Float16_t).
void Write(const char *path)
{
   TFile f(path, "RECREATE");
   TTree t("Events", "Events");
   t.SetAutoFlush(100);
   Long64_t idx; Int_t nJet; Float_t Jet_pt[8], fixed[3], half; std::vector<double> weights; std::string tag;
   t.Branch("idx", &idx, "idx/L");
   t.Branch("nJet", &nJet, "nJet/I");
   t.Branch("Jet_pt", Jet_pt, "Jet_pt[nJet]/F");
   t.Branch("weights", &weights);
   t.Branch("tag", &tag);
   t.Branch("fixed", fixed, "fixed[3]/F");
   t.Branch("half", &half, "half/f");
   for (int e = 0; e < 1000; ++e) {
      idx = e;
      nJet = e % 5;
      for (int j = 0; j < nJet; ++j)
         Jet_pt[j] = 20.f + j;
      weights.assign(e % 3, 0.5);
      tag = std::to_string(e);
      fixed[0] = fixed[1] = fixed[2] = float(e);
      half = 0.25f * float(e % 8);
      t.Fill();
   }
   t.Write();
}
}
"""
LOADABLE = ["idx", "nJet", "Jet_pt", "weights", "fixed", "half"]


@pytest.fixture(scope="module")
def tree_file(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("inspect") / "events.root")
    assert ROOT.gInterpreter.Declare(WRITER)
    ROOT.rdl_inspect_test.Write(path)
    return path


def loader_read_path(df, column: str) -> str:
    """The reading path a loader over ``column`` alone reports."""
    vector = "<" in str(df.GetColumnType(column)) or "[" in str(df.GetColumnType(column))
    sizes = {column: 3} if vector else {}
    loader = ROOT.ML.RDataLoader(df, batch_size=100, columns=[column], max_vec_sizes=sizes)
    next(iter(loader.as_numpy()))
    return loader.stats()["read_paths"][column]


def test_a_tree_reports_its_entries_clusters_types_and_each_columns_reading_path(tree_file):
    report = inspect_file(tree_file)
    assert (report.name, report.format, report.entries, report.clusters) == ("Events", "TTree", 1000, 10)
    df = ROOT.RDataFrame("Events", tree_file)
    columns = {c.name: c for c in report.columns}
    assert set(columns) == {str(c) for c in df.GetColumnNames()}
    for name, column in columns.items():
        assert column.type == str(df.GetColumnType(name)), name
    assert columns["tag"].loads_as.startswith("not loadable") and columns["tag"].read_by == "-"
    assert columns["Jet_pt"].loads_as.startswith("float32 vectors")
    assert columns["weights"].loads_as.startswith("float64 vectors")
    assert (columns["idx"].loads_as, columns["half"].loads_as) == ("int64", "float32")
    for name in LOADABLE:
        assert columns[name].read_by == loader_read_path(df, name), name
    assert {columns[name].read_by for name in ["idx", "nJet", "Jet_pt", "weights"]} == {"TTree baskets"}
    assert columns["fixed"].read_by.startswith("event loop (") and "fixed" in columns["fixed"].read_by


def test_an_rntuple_reports_its_fields_as_a_loader_reads_them(tree_file, tmp_path):
    path = str(tmp_path / "events_rntuple.root")
    options = ROOT.RDF.RSnapshotOptions()
    options.fOutputFormat = ROOT.RDF.ESnapshotOutputFormat.kRNTuple
    ROOT.RDataFrame("Events", tree_file).Snapshot("Events", path, ["idx", "Jet_pt", "weights"], options)
    report = inspect_file(path, "Events")
    df = ROOT.RDataFrame("Events", path)
    assert (report.format, report.entries) == ("RNTuple", df.Count().GetValue())
    assert report.clusters >= 1
    columns = {c.name: c for c in report.columns}
    for name in ["idx", "Jet_pt", "weights"]:
        assert columns[name].read_by == "RNTuple pages" == loader_read_path(df, name), name


def test_the_shared_real_files_are_read_by_the_file_readers(shared_file):
    muons = inspect_file(shared_file("Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root"))
    assert (muons.format, muons.name, muons.entries) == ("RNTuple", "Events", 1000)
    assert {c.read_by for c in muons.columns} == {"RNTuple pages"}
    zmumu = {c.name: c for c in inspect_file(shared_file("uproot-Zmumu.root"), "events").columns}
    assert zmumu["Type"].read_by == "-" and zmumu["Type"].loads_as.startswith("not loadable")
    assert zmumu["pt1"].read_by == "TTree baskets"


def run_inspect(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rdataloader", "inspect", *arguments], capture_output=True,
                          text=True, timeout=300)


def test_the_command_prints_the_report_and_names_what_is_wrong(tree_file, tmp_path):
    result = run_inspect(tree_file, "Events")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "TTree 'Events', 1,000 entries in 10 clusters" in result.stdout
    assert any(line.split()[:1] == ["Jet_pt"] and line.endswith("TTree baskets") for line in result.stdout.splitlines())

    missing = run_inspect(tree_file, "Muons")
    assert missing.returncode == 1 and "has no TTree or RNTuple named 'Muons'; it has: Events" in missing.stderr
    two = str(tmp_path / "two.root")
    ROOT.RDataFrame(3).Define("x", "1.f").Snapshot("a", two, ["x"])
    options = ROOT.RDF.RSnapshotOptions()
    options.fMode = "UPDATE"
    ROOT.RDataFrame(3).Define("x", "1.f").Snapshot("b", two, ["x"], options)
    ambiguous = run_inspect(two)
    assert ambiguous.returncode == 1 and "holds 2 TTrees and RNTuples (a (TTree), b (TTree)); name the one" in \
        ambiguous.stderr
    nowhere = run_inspect(str(tmp_path / "nowhere.root"))
    assert nowhere.returncode == 1 and "cannot open" in nowhere.stderr and "nowhere.root" in nowhere.stderr, \
        nowhere.stderr
