"""The ported TMVA and ml_dataloader tutorials run in their fast mode, write their plots, and print
(and reach) their key metric; the data generator writes the trees and columns of the originals."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ROOT

TUTORIAL_DIR = Path(__file__).resolve().parents[2] / "tutorials"

# tutorial -> (metric printed as "result: <metric> = <value>", lower bound, upper bound, frameworks it needs)
TUTORIALS = {
    "pytorch_classification.py": ("test ROC AUC", 0.8, None, ["torch"]),
    "pytorch_regression.py": ("test RMS residual / std(fvalue)", None, 0.1, ["torch"]),
    "pytorch_multiclass.py": ("test accuracy", 0.6, None, ["torch"]),
    "keras_classification.py": ("test ROC AUC", 0.8, None, ["tensorflow"]),
    "keras_regression.py": ("test RMS residual / std(fvalue)", None, 0.1, ["tensorflow"]),
    "keras_multiclass.py": ("test accuracy", 0.6, None, ["tensorflow"]),
    "higgs_classification.py": ("Keras test ROC AUC", 0.7, None, ["torch", "tensorflow"]),
    "ml_dataloader_numpy.py": ("label mixing r", 0.5, 2.0, []),
    "ml_dataloader_pytorch.py": ("validation accuracy", 0.58, None, ["torch"]),
    "ml_dataloader_tensorflow.py": ("validation accuracy", 0.58, None, ["tensorflow"]),
    "ml_dataloader_filters_vectors.py": ("entries received", 1, None, []),
    "ml_dataloader_higgs_classification.py": ("test ROC AUC", 0.9, None, ["torch"]),
}
MARKS = {"torch": pytest.mark.torch, "tensorflow": pytest.mark.tensorflow}

# The trees and columns of ROOT's tutorial files, which the generated ones reproduce.
HIGGS_COLUMNS = (
    ["Type", "lepton_pT", "lepton_eta", "lepton_phi", "missing_energy_magnitude", "missing_energy_phi"]
    + [f"jet{i}_{q}" for i in range(1, 5) for q in ("pt", "eta", "phi", "b-tag")]
    + ["m_jj", "m_jjj", "m_lv", "m_jlv", "m_bb", "m_wbb", "m_wwbb"]
)
VARS = ["var1", "var2", "var3", "var4"]
FOUR_LEPTONS = ["m4l", "good_lep", "goodlep_E", "goodlep_eta", "goodlep_phi", "goodlep_pt", "goodlep_type",
                "isHiggsRef"]
LAYOUT = {
    "Higgs_data.root": {"sig_tree": HIGGS_COLUMNS, "bkg_tree": HIGGS_COLUMNS},
    "tmva_class_example.root": {"TreeS": VARS, "TreeB": VARS + ["weight"]},
    "tmva_reg_example.root": {"TreeR": ["var1", "var2", "fvalue"]},
    "tmva_multiclass_example.root": {tree: VARS for tree in ("TreeS", "TreeB0", "TreeB1", "TreeB2")},
    "ml_dataloader_filters_vectors_hvector.root": {"test_tree": ["f1", "f2", "f3", "f4", "f5", "f6"]},
    **{f"ml_dataloader_Higgs_Classification_{s}.root": {"tree": FOUR_LEPTONS} for s in ("train", "val", "test")},
}


@pytest.fixture(scope="module")
def data_cache(tmp_path_factory) -> Path:
    """One cache of generated files for all tutorials of this module."""
    return tmp_path_factory.mktemp("tutorial-data")


def run_tutorial(name: str, data_cache: Path, output_dir: Path) -> str:
    # One compute thread per framework: the models are tiny, and on a busy machine thread pools
    # spinning for cores they do not get make a run several times slower.
    threads = {key: "1" for key in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")}
    env = {**os.environ, **threads, "RDATALOADER_TUTORIAL_DATA": str(data_cache), "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, str(TUTORIAL_DIR / name), "--fast", "--output-dir", str(output_dir)],
                            capture_output=True, text=True, timeout=300, env=env, cwd=output_dir)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=[MARKS[f] for f in spec[3]]) for name, spec in TUTORIALS.items()]
)
def test_tutorial_reaches_its_result(name, data_cache, tmp_path):
    metric, low, high, frameworks = TUTORIALS[name]
    for module in ["matplotlib", *frameworks]:
        if importlib.util.find_spec(module) is None:  # without importing it here: TensorFlow is slow to load
            pytest.skip(f"{name} needs {module}")
    out = run_tutorial(name, data_cache, tmp_path)
    found = re.search(rf"^result: {re.escape(metric)} = ([-+0-9.eE]+)", out, re.MULTILINE)
    assert found, f"{name} did not print its result line:\n{out[-3000:]}"
    value = float(found.group(1))
    assert low is None or value > low, f"{metric} = {value}"
    assert high is None or value < high, f"{metric} = {value}"
    assert list(tmp_path.glob("*.png")), f"{name} wrote no plot"


def test_generator_writes_the_layout_of_the_originals(tmp_path):
    result = subprocess.run([sys.executable, str(TUTORIAL_DIR / "make_tmva_data.py"), "--fast", "--output-dir",
                             str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    originals = Path(str(ROOT.gROOT.GetTutorialDir())) / "machine_learning"
    for file_name, trees in LAYOUT.items():
        for tree, columns in trees.items():
            df = ROOT.RDataFrame(tree, str(tmp_path / file_name))
            assert sorted(str(c) for c in df.GetColumnNames()) == sorted(columns), (file_name, tree)
            assert df.Count().GetValue() > 0
            # Where ROOT ships the original, the column types must match too.
            original = next((p for p in (originals / "data" / file_name, originals / file_name) if p.is_file()), None)
            if original is not None:
                reference = ROOT.RDataFrame(tree, str(original))
                for column in columns:
                    assert str(df.GetColumnType(column)) == str(reference.GetColumnType(column)), (file_name, column)
