"""Packaging steps that pyproject.toml cannot express: ship the C++ headers inside the Python
package, and install ``rdataloader.pth`` so that ``import ROOT`` alone provides ``ROOT.ML``."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent


class BuildWithHeadersAndHook(build_py):
    def run(self):
        super().run()
        build = Path(self.build_lib)
        for header in (HERE / "inc").rglob("*.hxx"):
            target = build / "rdataloader" / "include" / header.relative_to(HERE / "inc")
            target.parent.mkdir(parents=True, exist_ok=True)
            self.copy_file(str(header), str(target))
        self.copy_file(str(HERE / "python" / "rdataloader.pth"), str(build / "rdataloader.pth"))


setup(cmdclass={"build_py": BuildWithHeadersAndHook})
