"""Every Python tutorial runs, in its fast mode, as a user would run it (ddp_training.py under torchrun,
in test_distributed.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[2] / "tutorials"


def run_tutorial(name: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(TUTORIALS / name), *args], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.mark.torch
def test_quickstart_learns_something():
    out = run_tutorial("quickstart.py", "--entries", "20000", "--epochs", "2")
    summary = [line for line in out.splitlines() if line.startswith("summary:")]
    assert summary, out
    accuracy = float(summary[0].rsplit(" ", 1)[1])
    assert accuracy > 0.6


def test_prepared_dataset_saves_the_shared_cms_file_and_reads_back_the_same_batches(tmp_path):
    out = run_tutorial("prepared_dataset.py", "--output-dir", str(tmp_path))
    assert "summary: same batches True" in out, out
    assert "read paths of the prepared file: ['RNTuple pages']" in out, out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hzz_train.root", "hzz_validation.root"]


def test_reweighting_flattens_the_leading_muon_pt_of_both_classes():
    out = run_tutorial("reweighting.py")
    summary = next(line for line in out.splitlines() if line.startswith("summary:"))
    before, after = (float(word) for word in summary.replace(",", " ").split() if word.replace(".", "").isdigit())
    assert before > 0.05 and after < 1e-4, summary
