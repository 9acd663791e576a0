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
