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


def test_the_full_test_run_fails_instead_of_skipping_when_a_test_dependency_is_missing(tmp_path):
    # test/run.sh sets RDATALOADER_TEST_ALL: a dependency that does not import must stop the run, not skip tests.
    (tmp_path / "psutil.py").write_text("raise ImportError('psutil is missing here')\n")
    environment = {**os.environ, "RDATALOADER_TEST_ALL": "1",
                   "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "--collect-only",
                          "-q", str(Path(__file__))], capture_output=True, text=True, timeout=300, env=environment,
                         cwd=tmp_path)
    output = run.stdout + run.stderr
    assert run.returncode == 4, output  # pytest's usage error
    assert "RDATALOADER_TEST_ALL is set, but these test dependencies do not import: psutil" in output
