"""Installation as contributors do it: ``pip install -e .`` must give ``ROOT.ML`` on ``import ROOT``, with the
package served from the source tree."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def test_an_editable_install_registers_root_ml_from_the_source_tree(tmp_path):
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    packages = Path(subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                                   capture_output=True, text=True, check=True).stdout.strip())
    # ROOT and NumPy from this interpreter, as a plain path: its .pth files (this suite's own regular install
    # of rdataloader among them) are not run, so only the editable install can provide the hook.
    (packages / "zz_outer_site_packages.pth").write_text(site.getsitepackages()[0] + "\n")
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                              "--editable", str(REPOSITORY)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    check = subprocess.run(
        [str(python), "-c", "import ROOT, rdataloader; print(rdataloader.__file__); print(ROOT.ML.RDataLoader.__module__)"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""})
    assert check.returncode == 0, check.stderr
    module, loader = check.stdout.splitlines()[-2:]
    assert Path(module) == REPOSITORY / "python" / "rdataloader" / "__init__.py"
    assert loader == "rdataloader._loader"
