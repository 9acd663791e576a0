"""Packaging steps that pyproject.toml cannot express: ship the C++ headers inside the Python
package, and install ``rdataloader.pth`` so that ``import ROOT`` alone provides ``ROOT.ML``, in
regular and in editable (``pip install -e .``) installs."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

HERE = Path(__file__).parent
HOOK = HERE / "python" / "rdataloader.pth"


class BuildWithHeadersAndHook(build_py):
    def run(self):
        super().run()
        build = Path(self.build_lib)
        for header in (HERE / "inc").rglob("*.hxx"):
            target = build / "rdataloader" / "include" / header.relative_to(HERE / "inc")
            target.parent.mkdir(parents=True, exist_ok=True)
            self.copy_file(str(header), str(target))
        self.copy_file(str(HOOK), str(build / "rdataloader.pth"))


class _StrategyWithHook:
    """Wraps setuptools' editable strategy, which writes only its own ``__editable__.*.pth`` (the path of
    ``python/``), and adds ``rdataloader.pth`` to the wheel; site processes it after the other, whose name
    sorts first, so the package is importable when the hook's import line runs."""

    def __init__(self, strategy):
        self._strategy = strategy

    def __call__(self, wheel, files, mapping):
        self._strategy(wheel, files, mapping)
        wheel.writestr(HOOK.name, HOOK.read_bytes())

    def __enter__(self):
        self._strategy.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self._strategy.__exit__(*exc_info)


class EditableWithHook(editable_wheel):
    # _select_strategy is setuptools' one place that decides what an editable wheel holds (since
    # setuptools 64); test_packaging.py installs the project in editable mode and checks that ROOT.ML works.
    def _select_strategy(self, *args, **kwargs):
        return _StrategyWithHook(super()._select_strategy(*args, **kwargs))


setup(cmdclass={"build_py": BuildWithHeadersAndHook, "editable_wheel": EditableWithHook})
