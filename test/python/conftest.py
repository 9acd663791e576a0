"""Fixtures: small ROOT files written with RDataFrame into temporary directories, and the shared
CMS open-data files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# Cling compiles the engines of every test process (and of the processes tests start) without optimisation: the
# suite's small inputs spend far less time in that code than cling spends optimising it (a fifth of the suite's
# time, measured). The C++ tests and the engine cache's libraries are optimised; a caller's EXTRA_CLING_ARGS wins.
os.environ.setdefault("EXTRA_CLING_ARGS", "-O0")

import ROOT  # noqa: E402  (after EXTRA_CLING_ARGS, which ROOT reads when it starts its interpreter)
from rdataloader import _engine_cache  # noqa: E402

# Every process of the suite compiles its engines with cling (test_engine_cache.py turns the cache on for its
# own processes): a background compiler per new signature would only slow the suite down.
os.environ[_engine_cache.ENVIRONMENT_VARIABLE] = ""


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="run long versions of the soak tests")


#: The frameworks and tools some tests import, skipping without them. test/run.sh installs them all and sets
#: RDATALOADER_TEST_ALL, so that a broken installation fails the suite instead of skipping its tests.
OPTIONAL_TEST_MODULES = ("torch", "tensorflow", "keras", "jax", "lightning", "psutil", "uproot", "hypothesis", "tqdm")


def pytest_sessionstart(session):
    if not os.environ.get("RDATALOADER_TEST_ALL"):
        return
    missing = []
    for module in OPTIONAL_TEST_MODULES:
        try:
            __import__(module)
        except ImportError as error:
            missing.append(f"{module} ({error})")
    if missing:
        raise pytest.UsageError(f"RDATALOADER_TEST_ALL is set, but these test dependencies do not import: "
                                f"{'; '.join(missing)}. Install them with: pip install -c constraints.txt '.[test]'")


SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"


def write_tree(path: Path, entries: int, *, first_index: int = 0, label: int | None = None, cluster: int = 100,
               compression: str = "zlib") -> str:
    """A TTree ``tree`` with an ``idx`` column (unique across files via ``first_index``), a ``label``
    (fixed, or idx % 2), two float features derived from idx, and clusters of ``cluster`` entries."""
    df = ROOT.RDataFrame(entries).Define("idx", f"(Long64_t)rdfentry_ + {first_index}LL")
    df = df.Define("label", f"(int){label}" if label is not None else "(int)(idx % 2)")
    df = df.Define("x", "(float)idx * 0.5f").Define("y", "(float)(idx % 7)")
    options = ROOT.RDF.RSnapshotOptions()
    options.fAutoFlush = cluster
    if compression == "lz4":
        options.fCompressionAlgorithm = ROOT.RCompressionSetting.EAlgorithm.kLZ4
    df.Snapshot("tree", str(path), ["idx", "label", "x", "y"], options)
    return str(path)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("rdataloader-data")


@pytest.fixture(scope="session")
def clustered_file(data_dir) -> str:
    """1000 entries in 10 clusters of 100."""
    return write_tree(data_dir / "clustered.root", 1000)


@pytest.fixture(scope="session")
def three_files(data_dir) -> list[str]:
    """Three files of 300, 450 and 250 entries, indices 0..999, clusters of 64."""
    sizes = [300, 450, 250]
    starts = np.cumsum([0] + sizes[:-1])
    return [write_tree(data_dir / f"part{i}.root", n, first_index=int(s), cluster=64)
            for i, (n, s) in enumerate(zip(sizes, starts))]


@pytest.fixture(scope="session")
def sorted_signal_background(data_dir) -> tuple[str, str]:
    """The usual layout: a signal file (label 1) and a background file (label 0), 2000 entries each."""
    return (write_tree(data_dir / "sig.root", 2000, label=1, cluster=500),
            write_tree(data_dir / "bkg.root", 2000, first_index=2000, label=0, cluster=500))


@pytest.fixture
def shared_file():
    def path(name: str) -> str:
        p = SHARED_DATA / name
        if not p.is_file():
            pytest.fail(f"shared test data missing: {p} (the CMS files must sit in ../shared/data/real)")
        return str(p)

    return path


def epoch_indices(batches) -> np.ndarray:
    """All ``idx`` values one epoch delivers, in order (``idx`` must be the first feature)."""
    parts = [np.asarray(b[0] if isinstance(b, tuple) else b)[:, 0].astype(np.int64) for b in batches]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
