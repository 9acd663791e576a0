"""``import ROOT`` alone provides ``ROOT.ML.RDataLoader``; importing rdataloader costs nothing."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

import ROOT


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_root_alone_provides_the_loader():
    out = run_python(
        "import sys, ROOT\n"
        "loader = ROOT.ML.RDataLoader(ROOT.RDataFrame(10).Define('x', '1.f'), batch_size=5)\n"
        "print(type(loader).__module__, sum(len(b) for b in loader.as_numpy()))\n"
    )
    assert out.split() == ["rdataloader._loader", "10"]


def test_importing_the_package_does_not_import_root_or_numpy():
    out = run_python("import sys, rdataloader\nprint('ROOT' in sys.modules, 'numpy' in sys.modules)")
    assert out.split() == ["False", "False"]


def test_python_and_cxx_names_in_one_namespace():
    assert ROOT.ML.RDataLoader.__module__ == "rdataloader._loader"
    assert ROOT.ML.RDataLoaderOptions().fBatchSize == 64
    from rdataloader import RDataLoader

    assert RDataLoader is ROOT.ML.RDataLoader


def test_a_foreign_ml_namespace_is_not_hidden():
    from rdataloader._registration import register

    foreign = types.ModuleType("ROOT")
    foreign.ML = object()
    with pytest.raises(ImportError, match="already provides ROOT.ML"):
        register(foreign)


def test_include_dir_holds_the_headers():
    import pathlib

    import rdataloader

    assert (pathlib.Path(rdataloader.include_dir()) / "ROOT" / "ML" / "RDataLoader.hxx").is_file()


def test_the_command_line_gives_the_include_dir_and_version_without_importing_root():
    import pathlib

    import rdataloader

    out = run_python(
        "import runpy, sys\n"
        "sys.argv = ['rdataloader', '--include-dir']\n"
        "runpy.run_module('rdataloader', run_name='__main__')\n"
        "print('ROOT' in sys.modules)\n"
    ).split()
    assert out[1] == "False" and (pathlib.Path(out[0]) / "ROOT" / "ML" / "RDataLoader.hxx").is_file()
    version = subprocess.run([sys.executable, "-m", "rdataloader", "--version"], capture_output=True, text=True,
                             timeout=120)
    assert version.stdout.strip() == rdataloader.__version__


def test_arguments_of_roots_loader_keep_their_names_and_positions():
    import inspect

    from ROOT._pythonization._ml_dataloader import RDataLoader as RootLoader

    from rdataloader import RDataLoader

    def positional(cls):
        return [p.name for p in inspect.signature(cls.__init__).parameters.values()
                if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]

    theirs, ours = positional(RootLoader), positional(RDataLoader)
    assert ours[:len(theirs)] == theirs
