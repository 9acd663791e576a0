"""NanoAOD-like benchmark data: the same events as a leaf-list TTree, an RVec TTree and an RNTuple.

* ``nano_ttree``: TTree ``Events`` in NanoAOD's own layout, written by a small C++ function declared
  through ``ROOT.gInterpreter.Declare`` (``TTree::Branch`` with leaf lists): ``MET_pt/F``,
  ``nJet/I`` with ``Jet_pt[nJet]/F``, ``Jet_eta``, ``Jet_phi``, ``Jet_mass``, ``nMuon/I`` with
  ``Muon_pt[nMuon]/F``, ``Muon_eta``, ``Muon_phi``, and ``label/I``. The file is a plain ``TFile``
  with ROOT's default compression (ROOT 6.40: 101, ZLIB level 1) and TTree's default basket size
  and auto-flush;
* ``nano_rvec``: the same events, each ``Jet_*``/``Muon_*`` column ``Redefine``d as a
  ``ROOT::RVecF`` and written with RDataFrame ``Snapshot`` (default options): ``Jet_pt`` becomes a
  ``ROOT::VecOps::RVec<float>`` object branch (``TBranchElement``), as for any Define'd RVec column;
* ``nano_rntuple``: the same events written by ``Snapshot`` with ``fOutputFormat = kRNTuple``
  (RNTuple ``Events``; fields ``float``, ``std::int32_t`` and ``ROOT::VecOps::RVec<float>``, with
  RNTuple's default compression, 505 = ZSTD level 5);
* ``flat_ttree`` / ``flat_rntuple``: ``_common.generate_dataset``'s flat file (TTree ``tree``, 20
  float features and an int ``label``, zlib 101) and its RNTuple twin ``tree``, written by
  ``Snapshot`` with ``kRNTuple`` (default compression 505).

Physics-ish distributions (NumPy, seeded): ``label`` is 0 or 1 with probability 1/2; every event has
Poisson(4) jets and Poisson(1.2) muons, independently of the label, stored by decreasing pt as
NanoAOD does. Jets: pt = 15 GeV + exponential (mean 25 GeV for background, 40 for signal), eta
N(0, 1.8) (background) or N(0, 1.2) (signal) within |eta| < 4.7, uniform phi, mass = pt x U(0.05,
0.25). Muons: pt = 3 GeV + exponential (mean 12 / 25), eta N(0, 1.2) within |eta| < 2.4. MET: a
Rayleigh resolution term (scale 15 GeV) plus an exponential (mean 10 for background, 35 for signal).

Every file is written in a child process (ROOT stays out of the benchmark's parent, see
``_common``), under a temporary name renamed at the end, and cached by name in the data directory.

    python benchmarks/_nanoaod.py --entries 20000 --data-dir /tmp/nano   # writes the files, prints them
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, dataset_path, generate_dataset, run_worker, worker_main

SCRIPT = Path(__file__).resolve()
NANO_TREE = "Events"
FLAT_TREE = "tree"
LABEL = "label"
JET_FIELDS = ["Jet_pt", "Jet_eta", "Jet_phi", "Jet_mass"]
MUON_FIELDS = ["Muon_pt", "Muon_eta", "Muon_phi"]
#: All branches of the NanoAOD-like files, in the order they are written.
NANO_BRANCHES = ["MET_pt", "nJet", *JET_FIELDS, "nMuon", *MUON_FIELDS, LABEL]
DEFAULT_SEED = 7
#: The files, in the order the benchmark measures them.
FILE_KEYS = ["nano_ttree", "nano_rvec", "nano_rntuple", "flat_ttree", "flat_rntuple"]

_WRITER = r"""
#include <TFile.h>
#include <TTree.h>
#include <vector>

// Writes the events as NanoAOD does: counter branches and leaf-list arrays [nJet], [nMuon].
// The file gets ROOT's default compression and the TTree its default basket size and auto-flush.
long long rdataloader_bench_write_nanoaod(const char *path, long long entries, const float *met,
                                          const int *nJet, const float *jetPt, const float *jetEta,
                                          const float *jetPhi, const float *jetMass, const int *nMuon,
                                          const float *muonPt, const float *muonEta, const float *muonPhi,
                                          const int *label, int maxJets, int maxMuons)
{
   TFile file(path, "RECREATE");
   TTree tree("Events", "NanoAOD-like events");
   float metValue = 0;
   int nJetValue = 0, nMuonValue = 0, labelValue = 0;
   std::vector<float> jPt(maxJets + 1), jEta(maxJets + 1), jPhi(maxJets + 1), jMass(maxJets + 1);
   std::vector<float> mPt(maxMuons + 1), mEta(maxMuons + 1), mPhi(maxMuons + 1);
   tree.Branch("MET_pt", &metValue, "MET_pt/F");
   tree.Branch("nJet", &nJetValue, "nJet/I");
   tree.Branch("Jet_pt", jPt.data(), "Jet_pt[nJet]/F");
   tree.Branch("Jet_eta", jEta.data(), "Jet_eta[nJet]/F");
   tree.Branch("Jet_phi", jPhi.data(), "Jet_phi[nJet]/F");
   tree.Branch("Jet_mass", jMass.data(), "Jet_mass[nJet]/F");
   tree.Branch("nMuon", &nMuonValue, "nMuon/I");
   tree.Branch("Muon_pt", mPt.data(), "Muon_pt[nMuon]/F");
   tree.Branch("Muon_eta", mEta.data(), "Muon_eta[nMuon]/F");
   tree.Branch("Muon_phi", mPhi.data(), "Muon_phi[nMuon]/F");
   tree.Branch("label", &labelValue, "label/I");
   long long jet = 0, muon = 0;
   for (long long i = 0; i < entries; ++i) {
      metValue = met[i];
      nJetValue = nJet[i];
      for (int j = 0; j < nJetValue; ++j, ++jet) {
         jPt[j] = jetPt[jet];
         jEta[j] = jetEta[jet];
         jPhi[j] = jetPhi[jet];
         jMass[j] = jetMass[jet];
      }
      nMuonValue = nMuon[i];
      for (int m = 0; m < nMuonValue; ++m, ++muon) {
         mPt[m] = muonPt[muon];
         mEta[m] = muonEta[muon];
         mPhi[m] = muonPhi[muon];
      }
      labelValue = label[i];
      tree.Fill();
   }
   tree.Write();
   file.Close();
   return tree.GetEntries();
}
"""


# --------------------------------------------------------------------------------------------
# Paths and the parent side
# --------------------------------------------------------------------------------------------


def nano_paths(data_dir: Path, entries: int) -> dict[str, Path]:
    """Cache paths of the three NanoAOD-like files of ``entries`` events."""
    return {
        "nano_ttree": data_dir / f"nano_{entries}_ttree.root",
        "nano_rvec": data_dir / f"nano_{entries}_rvec.root",
        "nano_rntuple": data_dir / f"nano_{entries}_rntuple.root",
    }


def flat_paths(data_dir: Path, entries: int) -> dict[str, Path]:
    """Cache paths of the flat 20-feature TTree (``_common``'s) and its RNTuple twin."""
    ttree = dataset_path(data_dir, entries, 20, "zlib")
    return {"flat_ttree": ttree, "flat_rntuple": ttree.with_name(ttree.stem + "_rntuple.root")}


def generate(data_dir: Path, entries: int, flat_entries: int | None, seed: int = DEFAULT_SEED) -> dict[str, Path]:
    """Write (or reuse) the NanoAOD-like files of ``entries`` events and, if ``flat_entries``, the flat pair.

    The flat TTree is ``_common.generate_dataset``'s (its own child process); every missing file else
    is written by one more child process, so that ROOT starts (and JIT-compiles ``Snapshot``) once.
    Returns ``{key: path}`` in the order of :data:`FILE_KEYS`.
    """
    paths = nano_paths(data_dir, entries)
    if flat_entries:
        paths.update(flat_paths(data_dir, flat_entries))
        generate_dataset(paths["flat_ttree"], flat_entries, 20, "zlib")
    data_dir.mkdir(parents=True, exist_ok=True)
    tasks = []
    if not paths["nano_ttree"].exists():
        tasks.append({"kind": "nano_ttree", "path": str(paths["nano_ttree"]), "entries": entries, "seed": seed})
    if not paths["nano_rvec"].exists():
        tasks.append({"kind": "rvec_ttree", "source": str(paths["nano_ttree"]), "path": str(paths["nano_rvec"])})
    if not paths["nano_rntuple"].exists():
        tasks.append({"kind": "rntuple", "source": str(paths["nano_ttree"]), "tree": NANO_TREE,
                      "path": str(paths["nano_rntuple"])})
    if flat_entries and not paths["flat_rntuple"].exists():
        tasks.append({"kind": "rntuple", "source": str(paths["flat_ttree"]), "tree": FLAT_TREE,
                      "path": str(paths["flat_rntuple"])})
    if tasks:
        _in_child("write", tasks=tasks)
    return {key: paths[key] for key in FILE_KEYS if key in paths}


def tree_name(key: str) -> str:
    """Name of the TTree or RNTuple in the file of ``key``."""
    return NANO_TREE if key.startswith("nano") else FLAT_TREE


def describe(files: dict[str, Path], selection: str | None = None) -> dict[str, dict[str, Any]]:
    """Entries, format, compression and column types of each file (read in one child process); with a
    ``selection``, ``passing`` counts the entries it keeps in the files that have its columns."""
    cases = [{"key": key, "path": str(path), "name": tree_name(key), "selection": selection}
             for key, path in files.items()]
    return _in_child("describe", files=cases)["files"]


def _in_child(kind: str, **case: Any) -> dict[str, Any]:
    result = run_worker(SCRIPT, {"kind": kind, **case}, timeout=3600)
    if "error" in result:
        raise RuntimeError(f"{kind} failed: {result['error']}")
    return result


# --------------------------------------------------------------------------------------------
# Child side
# --------------------------------------------------------------------------------------------


def make_events(entries: int, seed: int) -> dict[str, Any]:
    """The events as NumPy arrays: per-event scalars and counts, and flat per-object arrays."""
    import numpy as np

    rng = np.random.default_rng(seed)
    label = (rng.random(entries) < 0.5).astype(np.int32)
    signal = label.astype(bool)
    n_jet = rng.poisson(4.0, entries).astype(np.int32)
    n_muon = rng.poisson(1.2, entries).astype(np.int32)
    met = rng.rayleigh(15.0, entries) + rng.exponential(np.where(signal, 35.0, 10.0))

    def objects(counts: Any) -> tuple[Any, Any]:
        event = np.repeat(np.arange(entries), counts)
        return event, signal[event]

    jet_event, jet_signal = objects(n_jet)
    jet_pt = 15.0 + rng.exponential(np.where(jet_signal, 40.0, 25.0))
    jet_eta = np.clip(rng.normal(0.0, np.where(jet_signal, 1.2, 1.8)), -4.7, 4.7)
    jet_phi = rng.uniform(-np.pi, np.pi, len(jet_event))
    jet_mass = jet_pt * rng.uniform(0.05, 0.25, len(jet_event))
    jet_order = np.lexsort((-jet_pt, jet_event))  # by event, then by decreasing pt

    muon_event, muon_signal = objects(n_muon)
    muon_pt = 3.0 + rng.exponential(np.where(muon_signal, 25.0, 12.0))
    muon_eta = np.clip(rng.normal(0.0, 1.2, len(muon_event)), -2.4, 2.4)
    muon_phi = rng.uniform(-np.pi, np.pi, len(muon_event))
    muon_order = np.lexsort((-muon_pt, muon_event))

    def f32(values: Any, order: Any = None) -> Any:
        return np.ascontiguousarray((values if order is None else values[order]).astype(np.float32))

    return {
        "MET_pt": f32(met),
        "nJet": n_jet,
        "Jet_pt": f32(jet_pt, jet_order),
        "Jet_eta": f32(jet_eta, jet_order),
        "Jet_phi": f32(jet_phi, jet_order),
        "Jet_mass": f32(jet_mass, jet_order),
        "nMuon": n_muon,
        "Muon_pt": f32(muon_pt, muon_order),
        "Muon_eta": f32(muon_eta, muon_order),
        "Muon_phi": f32(muon_phi, muon_order),
        LABEL: label,
    }


def _write_nano_ttree(ROOT: Any, case: dict[str, Any]) -> dict[str, Any]:
    ROOT.gInterpreter.Declare(_WRITER)
    entries = case["entries"]
    events = make_events(entries, case["seed"])
    path = Path(case["path"])
    partial = path.with_name(path.name + ".partial")
    written = ROOT.rdataloader_bench_write_nanoaod(
        str(partial),
        entries,
        *(events[name] for name in NANO_BRANCHES),
        int(events["nJet"].max(initial=0)),
        int(events["nMuon"].max(initial=0)),
    )
    if written != entries:
        raise RuntimeError(f"wrote {written} entries instead of {entries}")
    _check_leaf_lists(ROOT, partial)
    os.replace(partial, path)
    return {"entries": int(written)}


def _check_leaf_lists(ROOT: Any, path: Path) -> None:
    """Raise unless the jet and muon branches are leaf lists ``Jet_pt[nJet]/F`` (NanoAOD's layout)."""
    file = ROOT.TFile.Open(str(path))
    try:
        tree = file.Get(NANO_TREE)
        for name in (*JET_FIELDS, *MUON_FIELDS):
            counter = "nJet" if name.startswith("Jet") else "nMuon"
            branch = tree.GetBranch(name)
            expected = f"{name}[{counter}]/F"
            if branch.GetTitle() != expected or branch.ClassName() != "TBranch":
                raise RuntimeError(f"branch {name} is {branch.ClassName()} {branch.GetTitle()!r}, not {expected!r}")
    finally:
        file.Close()


def _write_rvec_ttree(ROOT: Any, case: dict[str, Any]) -> dict[str, Any]:
    """The same events, each collection column ``Redefine``d as an RVec and ``Snapshot`` to a TTree."""
    df = ROOT.RDataFrame(NANO_TREE, case["source"])
    for name in (*JET_FIELDS, *MUON_FIELDS):
        df = df.Redefine(name, f"ROOT::RVecF({name}.begin(), {name}.end())")
    path = Path(case["path"])
    partial = path.with_name(path.name + ".partial")
    df.Snapshot(NANO_TREE, str(partial), NANO_BRANCHES)
    os.replace(partial, path)
    return {}


def _snapshot_rntuple(ROOT: Any, case: dict[str, Any]) -> dict[str, Any]:
    """Every column of a TTree written as an RNTuple of the same name by ``Snapshot`` (default options)."""
    df = ROOT.RDataFrame(case["tree"], case["source"])
    options = ROOT.RDF.RSnapshotOptions()
    options.fOutputFormat = ROOT.RDF.ESnapshotOutputFormat.kRNTuple
    path = Path(case["path"])
    partial = path.with_name(path.name + ".partial")
    df.Snapshot(case["tree"], str(partial), [str(c) for c in df.GetColumnNames()], options)
    os.replace(partial, path)
    return {}


def _write(case: dict[str, Any]) -> dict[str, Any]:
    """Child side of :func:`generate`: the tasks in order (the RVec and RNTuple files read the first)."""
    import ROOT

    writers = {"nano_ttree": _write_nano_ttree, "rvec_ttree": _write_rvec_ttree, "rntuple": _snapshot_rntuple}
    for task in case["tasks"]:
        writers[task["kind"]](ROOT, task)
    return {}


def _describe(case: dict[str, Any]) -> dict[str, Any]:
    return {"files": {f["key"]: _describe_file(f["path"], f["name"], f.get("selection")) for f in case["files"]}}


def _describe_file(path: str, name: str, selection: str | None = None) -> dict[str, Any]:
    import ROOT

    df = ROOT.RDataFrame(name, path)
    types = {str(c): str(df.GetColumnType(c)) for c in df.GetColumnNames()}
    file = ROOT.TFile.Open(path)
    try:
        key = file.GetKey(name)
        is_rntuple = key is not None and key.GetClassName() == "ROOT::RNTuple"
        if is_rntuple:
            reader = ROOT.RNTupleReader.Open(name, path)
            # The compression of the first column range of the first cluster: what Snapshot wrote everywhere.
            descriptor = reader.GetDescriptor()
            cluster = descriptor.FindClusterId(0, 0)
            column_ranges = descriptor.GetClusterDescriptor(cluster).GetColumnRangeIterable()
            compression = next((int(r.GetCompressionSettings().value()) for r in column_ranges), None)
            branches = None
        else:
            tree = file.Get(name)
            compression = int(tree.GetBranch(LABEL).GetCompressionSettings())
            branches = {str(b.GetName()): f"{b.ClassName()} {b.GetTitle()}" for b in tree.GetListOfBranches()}
    finally:
        file.Close()
    entries = int(df.Count().GetValue())
    passing = entries
    if selection and "nJet" in types:
        passing = int(df.Filter(selection).Count().GetValue())
    return {
        "entries": entries,
        "passing": passing,
        "format": "RNTuple" if is_rntuple else "TTree",
        "compression": compression,
        "column_types": types,
        "branches": branches,
        "bytes": os.path.getsize(path),
    }


HANDLERS = {"write": _write, "describe": _describe}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="events of the NanoAOD-like files")
    parser.add_argument("--flat-entries", type=int, default=None, help="entries of the flat files (none if absent)")
    parser.add_argument("--data-dir", type=Path, default=RESULTS_DIR / "data")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(HANDLERS, args.worker)
        return
    files = generate(args.data_dir, args.entries, args.flat_entries)
    for key, info in describe(files).items():
        path = files[key]
        print(f"{key}: {path} ({info['format']}, {info['entries']} entries, compression {info['compression']}, "
              f"{info['bytes'] / 2**20:.1f} MiB)")
        for column, kind in info["column_types"].items():
            branch = f"   [{info['branches'][column]}]" if info["branches"] and column in info["branches"] else ""
            print(f"    {column}: {kind}{branch}")


if __name__ == "__main__":
    main()
