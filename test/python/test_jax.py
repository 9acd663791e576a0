"""JAX output through DLPack."""

from __future__ import annotations

import numpy as np
import pytest

import ROOT

jax = pytest.importorskip("jax")
pytestmark = pytest.mark.jax


def test_jax_values_match_numpy(clustered_file):
    def make():
        return ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", clustered_file), batch_size=64, set_seed=5,
                                   columns=["x", "y", "label"], target="label", dtypes={"label": "int32"})

    for (rx, ry), (x, y) in zip(make().as_numpy(), make().as_jax()):
        assert isinstance(x, jax.Array) and y.dtype == np.int32
        assert np.array_equal(np.asarray(x), rx) and np.array_equal(np.asarray(y), ry)
