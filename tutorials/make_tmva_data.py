"""Toy versions of the data files of ROOT's machine-learning tutorials.

The TMVA and ``ml_dataloader`` tutorials read files from ``$ROOTSYS/tutorials/machine_learning``
(or download them). This module writes files with the same trees, columns and column types, filled
with physically motivated, separable distributions, so that the ported tutorials run anywhere:

``Higgs_data.root``
    ``sig_tree``/``bkg_tree`` in the layout of the UCI HIGGS set (Baldi, Sadowski, Whiteson 2014):
    one lepton, missing energy and four jets, plus the seven reconstructed masses. Signal is
    gg -> H0 (425 GeV) -> W H+- (325 GeV), H+- -> W h (125 GeV), h -> bb; background is ttbar ->
    WbWb; one W decays to l nu, the other to two jets. The events are made with two-body decays,
    detector smearing and the usual reconstruction (neutrino pz from the W mass, b-jets from
    b-tags, the top hypothesis for the jet pairing). Momenta and masses are in units of 100 GeV,
    so that, as in the original, every value is of order one.
``tmva_class_example.root``
    ``TreeS``/``TreeB`` with four correlated Gaussian variables ``var1..var4``, as TMVA's
    ``createData.C``; the background is simulated from a broader distribution and carries the
    importance ``weight`` that restores the physical one.
``tmva_reg_example.root``
    ``TreeR``: ``var1``, ``var2`` uniform in [0, 5] and ``fvalue``, a smooth function of both with a
    1% resolution.
``tmva_multiclass_example.root``
    ``TreeS``, ``TreeB0``, ``TreeB1`` (correlated Gaussians around different means) and ``TreeB2``
    (an arc in the var1/var2 plane), as ``createData.C``'s ``create_MultipleBackground``.
``ml_dataloader_filters_vectors_hvector.root``
    ``test_tree`` with scalar (``f1`` int, ``f2`` float, ``f3`` bool) and variable-length vector
    columns (``f4`` vector<int>, ``f5`` vector<float>, ``f6`` vector<bool>).
``ml_dataloader_Higgs_Classification_{train,val,test}.root``
    ``tree`` in the layout of the ATLAS open-data H -> ZZ* -> 4l selection of ``df106``: ``m4l``,
    the good-lepton mask and the four leptons' kinematics (MeV) and flavour, and ``isHiggsRef``.

Every file is a deterministic function of its seed. Usage::

    python make_tmva_data.py [--output-dir DIR] [--fast] [NAME ...]

Tutorials call :func:`generated_file`, which writes a file once into a cache directory
(``$RDATALOADER_TUTORIAL_DATA``, or ``rdataloader-tutorial-data`` in the temporary directory).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

import ROOT

M_W, GAMMA_W = 80.4, 2.1
M_Z, GAMMA_Z = 91.19, 2.5
M_TOP, GAMMA_TOP = 172.5, 1.4
M_B = 4.8
M_H0, M_HPM, M_H = 425.0, 325.0, 125.0
HIGGS_UNIT = 100.0  # GeV: momenta and masses in Higgs_data.root are stored in this unit


def _snapshot(columns: dict, tree: str, path: str, update: bool = False, cluster: int = 1000) -> None:
    """Write NumPy arrays as a TTree; ``cluster`` entries per cluster, as a real file has many."""
    options = ROOT.RDF.RSnapshotOptions()
    options.fAutoFlush = cluster
    options.fMode = "UPDATE" if update else "RECREATE"
    arrays = {name: np.ascontiguousarray(values) for name, values in columns.items()}
    ROOT.RDF.FromNumpy(arrays).Snapshot(tree, path, list(arrays), options)


# Kinematics: four-vectors are arrays of shape (n, 4) holding (E, px, py, pz) in GeV -------------


def _mass(p):
    return np.sqrt(np.maximum(p[:, 0] ** 2 - np.sum(p[:, 1:] ** 2, axis=1), 0.0))


def _pt(p):
    return np.hypot(p[:, 1], p[:, 2])


def _eta(p):
    return np.arcsinh(p[:, 3] / np.maximum(_pt(p), 1e-9))


def _phi(p):
    return np.arctan2(p[:, 2], p[:, 1])


def _boost(p, beta):
    """Lorentz-boost ``p`` by the velocities ``beta`` (n, 3)."""
    b2 = np.sum(beta**2, axis=1)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(beta * p[:, 1:], axis=1)
    factor = np.where(b2 > 0, (gamma - 1.0) / np.where(b2 > 0, b2, 1.0), 0.0)
    energy = gamma * (p[:, 0] + bp)
    momentum = p[:, 1:] + ((factor * bp + gamma * p[:, 0])[:, None]) * beta
    return np.column_stack([energy, momentum])


def _decay(rng, parent, m1, m2):
    """Isotropic two-body decays of ``parent`` into daughters of masses ``m1``, ``m2``."""
    m = _mass(parent)
    pstar = np.sqrt(np.maximum((m**2 - (m1 + m2) ** 2) * (m**2 - (m1 - m2) ** 2), 0.0)) / (2 * m)
    cos_theta = rng.uniform(-1, 1, len(m))
    sin_theta = np.sqrt(1 - cos_theta**2)
    phi = rng.uniform(-np.pi, np.pi, len(m))
    direction = np.column_stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta])
    d1 = np.column_stack([np.sqrt(pstar**2 + m1**2), pstar[:, None] * direction])
    d2 = np.column_stack([np.sqrt(pstar**2 + m2**2), -pstar[:, None] * direction])
    beta = parent[:, 1:] / parent[:, :1]
    return _boost(d1, beta), _boost(d2, beta)


def _breit_wigner(rng, mass, width, n, low, high):
    """Masses from a Breit-Wigner of the given pole and width, truncated to [low, high]."""
    lo, hi = np.arctan((low - mass) / (width / 2)), np.arctan((high - mass) / (width / 2))
    return mass + width / 2 * np.tan(rng.uniform(lo, hi, n))


def _produce(rng, mass, mean_pt=25.0, rapidity_spread=0.8):
    """Systems of the given masses with an exponential pT and a Gaussian rapidity."""
    n = len(mass)
    pt = rng.exponential(mean_pt, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    y = rng.normal(0.0, rapidity_spread, n)
    mt = np.sqrt(mass**2 + pt**2)
    return np.column_stack([mt * np.cosh(y), pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y)])


def _w_mass(rng, n, high=100.0):
    return _breit_wigner(rng, M_W, GAMMA_W, n, 60.0, high)


def _smear_jet(rng, p):
    """Out-of-cone radiation (a third of the jets lose up to half their energy) and the
    calorimeter resolution, sigma(E)/E = 100%/sqrt(E) (+) 8%."""
    radiation = np.where(rng.uniform(size=len(p)) < 0.3, rng.uniform(0.5, 1.0, len(p)), 1.0)
    resolution = np.hypot(1.0 / np.sqrt(p[:, 0]), 0.08)
    return p * (radiation * np.maximum(1.0 + resolution * rng.normal(size=len(p)), 0.1))[:, None]


def _btag(rng, is_b):
    """Highest b-tag working point passed: 0 none, 1 loose, 2 tight."""
    u = rng.uniform(size=len(is_b))
    return np.where(is_b, np.select([u < 0.60, u < 0.80], [2, 1], 0), np.select([u < 0.01, u < 0.10], [2, 1], 0))


def _higgs_partons(rng, n, signal):
    """Lepton, neutrino, two b quarks and two light quarks of ``n`` signal or ttbar events."""
    if signal:
        h0 = _produce(rng, _breit_wigner(rng, M_H0, 20.0, n, M_HPM + 90.0, 600.0))
        w1, hpm = _decay(rng, h0, _w_mass(rng, n), np.full(n, M_HPM))
        w2, h = _decay(rng, hpm, _w_mass(rng, n), np.full(n, M_H))
        b1, b2 = _decay(rng, h, np.full(n, M_B), np.full(n, M_B))
    else:
        mt1 = _breit_wigner(rng, M_TOP, GAMMA_TOP, n, 160.0, 185.0)
        mt2 = _breit_wigner(rng, M_TOP, GAMMA_TOP, n, 160.0, 185.0)
        ttbar = _produce(rng, mt1 + mt2 + rng.gamma(2.0, 60.0, n), mean_pt=40.0)
        t1, t2 = _decay(rng, ttbar, mt1, mt2)
        w1, b1 = _decay(rng, t1, _w_mass(rng, n, high=mt1 - M_B - 1), np.full(n, M_B))
        w2, b2 = _decay(rng, t2, _w_mass(rng, n, high=mt2 - M_B - 1), np.full(n, M_B))
    # Either W may be the leptonic one.
    swap = rng.uniform(size=n) < 0.5
    w_lep = np.where(swap[:, None], w2, w1)
    w_had = np.where(swap[:, None], w1, w2)
    zero = np.zeros(n)
    lepton, neutrino = _decay(rng, w_lep, zero, zero)
    q1, q2 = _decay(rng, w_had, zero, zero)
    return lepton, neutrino, b1, b2, q1, q2


def _neutrino_pz(lepton, met_x, met_y):
    """Neutrino pz from m(l nu) = m_W; the smaller solution, the real part if there is none."""
    pt2 = _pt(lepton) ** 2
    mu = M_W**2 / 2 + lepton[:, 1] * met_x + lepton[:, 2] * met_y
    centre = mu * lepton[:, 3] / pt2
    discriminant = centre**2 - (lepton[:, 0] ** 2 * (met_x**2 + met_y**2) - mu**2) / pt2
    root = np.sqrt(np.maximum(discriminant, 0.0))
    return np.where(np.abs(centre - root) < np.abs(centre + root), centre - root, centre + root)


def _higgs_events(rng, n, signal):
    """Detector-level columns of ``n`` accepted events (several tries of vectorised generation)."""
    parts, accepted = [], 0
    while accepted < n:
        lepton, neutrino, b1, b2, q1, q2 = _higgs_partons(rng, 2 * n, signal)
        lepton = lepton * rng.normal(1.0, 0.01, len(lepton))[:, None]
        quarks = np.stack([b1, b2, q1, q2], axis=1)
        jets = np.stack([_smear_jet(rng, quarks[:, i]) for i in range(4)], axis=1)
        # Missing energy: the neutrino, the jet mismeasurement and soft activity.
        mismeasured = np.sum(quarks[:, :, 1:3] - jets[:, :, 1:3], axis=1)
        met = neutrino[:, 1:3] + mismeasured + rng.normal(0.0, 10.0, (len(lepton), 2))
        ok = (_pt(lepton) > 25) & (np.abs(_eta(lepton)) < 2.5)
        for i in range(4):
            ok &= (_pt(jets[:, i]) > 20) & (np.abs(_eta(jets[:, i])) < 2.5)
        parts.append((lepton[ok], met[ok], jets[ok]))
        accepted += int(ok.sum())
    lepton, met, jets = (np.concatenate(p)[:n] for p in zip(*parts))
    btag = np.column_stack([_btag(rng, np.full(n, i < 2)) for i in range(4)])  # jets 0, 1 are the b's

    # Reconstruction: the two most b-tagged jets (then the hardest) are the b-jets, the others
    # the hadronic W; the b-jets are paired with the W's as the top hypothesis prefers.
    pt = np.stack([_pt(jets[:, i]) for i in range(4)], axis=1)
    order = np.argsort(-(btag * 1e4 + pt), axis=1)
    rows = np.arange(n)
    bjet_a, bjet_b, wjet_1, wjet_2 = (jets[rows, order[:, i]] for i in range(4))
    neutrino = np.column_stack([np.zeros(n), met, _neutrino_pz(lepton, met[:, 0], met[:, 1])])
    neutrino[:, 0] = np.linalg.norm(neutrino[:, 1:], axis=1)
    w_lep, w_had = lepton + neutrino, wjet_1 + wjet_2
    chi_ab = np.abs(_mass(w_had + bjet_a) - M_TOP) + np.abs(_mass(w_lep + bjet_b) - M_TOP)
    chi_ba = np.abs(_mass(w_had + bjet_b) - M_TOP) + np.abs(_mass(w_lep + bjet_a) - M_TOP)
    swap = (chi_ba < chi_ab)[:, None]
    b_had, b_lep = np.where(swap, bjet_b, bjet_a), np.where(swap, bjet_a, bjet_b)
    masses = {
        "m_jj": _mass(w_had),
        "m_jjj": _mass(w_had + b_had),
        "m_lv": _mass(w_lep),
        "m_jlv": _mass(w_lep + b_lep),
        "m_bb": _mass(bjet_a + bjet_b),
        "m_wbb": _mass(w_had + bjet_a + bjet_b),
        "m_wwbb": _mass(w_lep + w_had + bjet_a + bjet_b),
    }

    # Stored jets are ordered by pT, as in the original.
    by_pt = np.argsort(-pt, axis=1)
    columns = {
        "Type": np.full(n, 1.0 if signal else 0.0),
        "lepton_pT": _pt(lepton) / HIGGS_UNIT,
        "lepton_eta": _eta(lepton),
        "lepton_phi": _phi(lepton),
        "missing_energy_magnitude": np.hypot(met[:, 0], met[:, 1]) / HIGGS_UNIT,
        "missing_energy_phi": np.arctan2(met[:, 1], met[:, 0]),
    }
    for i in range(4):
        jet = jets[rows, by_pt[:, i]]
        columns[f"jet{i + 1}_pt"] = _pt(jet) / HIGGS_UNIT
        columns[f"jet{i + 1}_eta"] = _eta(jet)
        columns[f"jet{i + 1}_phi"] = _phi(jet)
        columns[f"jet{i + 1}_b-tag"] = btag[rows, by_pt[:, i]].astype(float)
    columns.update({name: value / HIGGS_UNIT for name, value in masses.items()})
    return {name: value.astype(np.float32) for name, value in columns.items()}


def make_higgs_data(path, entries: int = 10000, seed: int = 1) -> str:
    """``Higgs_data.root``: ``sig_tree`` and ``bkg_tree`` of ``entries`` events each."""
    rng = np.random.default_rng(seed)
    _snapshot(_higgs_events(rng, entries, signal=True), "sig_tree", str(path))
    _snapshot(_higgs_events(rng, entries, signal=False), "bkg_tree", str(path), update=True)
    return str(path)


# The TMVA toy examples ---------------------------------------------------------------------------

_CORRELATIONS = {(0, 1): 0.4, (0, 2): 0.6, (0, 3): 0.9, (1, 2): 0.7, (1, 3): 0.8, (2, 3): 0.93}


def _square_root() -> np.ndarray:
    """Lower-triangular L for createData.C's four correlated variables.

    Those correlations do not form a positive-definite matrix; createData.C's Cholesky step takes
    the absolute value under the last square root, so that L L^T has var4's variance at 1.195.
    """
    corr = np.eye(4)
    for (i, j), rho in _CORRELATIONS.items():
        corr[i, j] = corr[j, i] = rho
    root = np.zeros((4, 4))
    for i in range(4):
        root[i, i] = np.sqrt(abs(corr[i, i] - root[i, :i] @ root[i, :i]))
        for k in range(i + 1, 4):
            root[k, i] = (corr[k, i] - root[k, :i] @ root[i, :i]) / root[i, i]
    return root


def _gaussian(rng, mean, n, scale: float = 1.0) -> np.ndarray:
    return np.asarray(mean) + scale * rng.standard_normal((n, 4)) @ _square_root().T


def _variables(x: np.ndarray) -> dict:
    return {f"var{i + 1}": x[:, i].astype(np.float32) for i in range(x.shape[1])}


def make_class_example(path, entries: int = 6000, seed: int = 2) -> str:
    """``tmva_class_example.root``: ``TreeS`` (var1..var4) and ``TreeB`` (var1..var4, weight).

    The background is generated with 1.5 times the physical spread; its ``weight`` is the ratio of
    the physical to the generated density (mean 1), so the weighted background is the physical one.
    """
    rng = np.random.default_rng(seed)
    signal = _gaussian(rng, [0.2, 0.3, 0.4, 0.8], entries)
    mean_b, spread = np.array([-0.2, -0.3, -0.4, -0.5]), 1.5
    background = _gaussian(rng, mean_b, entries, spread)
    mahalanobis2 = np.sum(np.linalg.solve(_square_root(), (background - mean_b).T) ** 2, axis=0)
    weight = spread**4 * np.exp(-0.5 * mahalanobis2 * (1 - 1 / spread**2))
    _snapshot(_variables(signal), "TreeS", str(path))
    _snapshot({**_variables(background), "weight": weight.astype(np.float32)}, "TreeB", str(path), update=True)
    return str(path)


def make_reg_example(path, entries: int = 10000, seed: int = 3) -> str:
    """``tmva_reg_example.root``: ``TreeR`` with var1, var2 and the target ``fvalue``."""
    rng = np.random.default_rng(seed)
    var1, var2 = rng.uniform(0, 5, entries), rng.uniform(0, 5, entries)
    fvalue = (2 + 7 * var1**2 + 9 * var2**2) * rng.normal(1.0, 0.01, entries)
    columns = {"var1": var1, "var2": var2, "fvalue": fvalue}
    _snapshot({name: value.astype(np.float32) for name, value in columns.items()}, "TreeR", str(path))
    return str(path)


def _arc(rng, n, radius: float = 1.5) -> np.ndarray:
    """createData.C's ``makeTree_circ`` (distorted): an arc in var1/var2, var3/var4 uniform."""
    phi = np.radians(np.maximum(rng.uniform(size=n), rng.uniform(size=n)) * 200 - 70 + rng.normal(0, 5, n))
    r = radius + rng.normal(0, 0.1, n)
    box = radius + 0.4
    return np.column_stack([r * np.cos(phi), r * np.sin(phi), rng.uniform(-box, box, (n, 2))])


def make_multiclass_example(path, entries: int = 2000, seed: int = 4) -> str:
    """``tmva_multiclass_example.root``: ``TreeS``, ``TreeB0``, ``TreeB1``, ``TreeB2`` (var1..var4)."""
    rng = np.random.default_rng(seed)
    trees = {
        "TreeS": _gaussian(rng, [0.2, 0.3, 0.5, 0.9], entries),
        "TreeB0": _gaussian(rng, [-0.2, -0.3, -0.5, -0.6], entries),
        "TreeB1": _gaussian(rng, [-0.2, 0.3, 0.5, -0.6], entries),
        "TreeB2": _arc(rng, entries),
    }
    for i, (name, x) in enumerate(trees.items()):
        _snapshot(_variables(x), name, str(path), update=i > 0)
    return str(path)


# ROOT's ml_dataloader examples --------------------------------------------------------------------


def make_filters_vectors(path, entries: int = 100, seed: int = 5) -> str:
    """``ml_dataloader_filters_vectors_hvector.root``: ``test_tree`` with scalars and vectors of
    varying length (shorter and longer than the tutorial's ``max_vec_sizes``)."""
    rng = np.random.default_rng(seed)
    f1 = np.arange(1, entries + 1, dtype=np.int32)
    columns = {
        "f1": f1,
        "f2": (f1 + 0.1).astype(np.float32),
        "f3": rng.uniform(size=entries) < 0.5,
        "n4": rng.integers(1, 6, entries).astype(np.int32),
        "n5": rng.integers(1, 4, entries).astype(np.int32),
        "n6": rng.integers(0, 3, entries).astype(np.int32),
    }
    options = ROOT.RDF.RSnapshotOptions()
    options.fMode = "RECREATE"
    df = ROOT.RDF.FromNumpy(columns)
    # std::vector columns, as in the original file: f4[k] = 10 * f1 + k, f5[k] = f1 + k / 2.
    df = df.Define("f4", "std::vector<int> v(n4); for (int k = 0; k < n4; ++k) v[k] = f1 * 10 + k; return v;")
    df = df.Define("f5", "std::vector<float> v(n5); for (int k = 0; k < n5; ++k) v[k] = f1 + 0.5f * k; return v;")
    df = df.Define("f6", "std::vector<bool> v(n6); for (int k = 0; k < n6; ++k) v[k] = (f1 + k) % 2; return v;")
    df.Snapshot("test_tree", str(path), ["f1", "f2", "f3", "f4", "f5", "f6"], options)
    return str(path)


def _four_lepton_events(rng, n, signal):
    """H -> ZZ* -> 4l (signal) or ZZ*/Z -> 4l (background) events passing the df106 selection."""
    parts, accepted = [], 0
    while accepted < n:
        size = 3 * n
        if signal:
            m4l = _breit_wigner(rng, M_H, 0.004, size, M_H - 1, M_H + 1)
        else:
            # A Z -> 4l peak, a continuum, and the rise at the ZZ threshold.
            kind = rng.uniform(size=size)
            m4l = np.select(
                [kind < 0.15, kind < 0.55],
                [_breit_wigner(rng, M_Z, GAMMA_Z, size, 80.0, 100.0), rng.uniform(100.0, 180.0, size)],
                180.0 + rng.gamma(2.0, 25.0, size),
            )
        parent = _produce(rng, m4l, mean_pt=15.0, rapidity_spread=1.0)
        m1 = _breit_wigner(rng, M_Z, GAMMA_Z, size, 12.0, np.minimum(m4l - 12.0, 120.0))
        limit = m4l - m1
        m2 = np.where(
            limit > 100.0,
            _breit_wigner(rng, M_Z, GAMMA_Z, size, 12.0, np.minimum(limit, 120.0)),
            12.0 + (limit - 12.0) * np.sqrt(rng.uniform(size=size)),
        )
        z1, z2 = _decay(rng, parent, m1, m2)
        zero = np.zeros(size)
        leptons = np.stack([*_decay(rng, z1, zero, zero), *_decay(rng, z2, zero, zero)], axis=1)
        leptons *= rng.normal(1.0, 0.02, (size, 4))[:, :, None]
        flavour = np.repeat(np.where(rng.uniform(size=(size, 2)) < 0.5, 11, 13), 2, axis=1)
        pt = np.hypot(leptons[:, :, 1], leptons[:, :, 2])
        eta = np.arcsinh(leptons[:, :, 3] / pt)
        by_pt = np.argsort(-pt, axis=1)
        rows = np.arange(size)[:, None]
        leptons, flavour, pt, eta = leptons[rows, by_pt], flavour[rows, by_pt], pt[rows, by_pt], eta[rows, by_pt]
        ok = np.all((np.abs(eta) < np.where(flavour == 11, 2.47, 2.5)) & (pt > np.where(flavour == 11, 7, 5)), axis=1)
        ok &= (pt[:, 0] > 25) & (pt[:, 1] > 15) & (pt[:, 2] > 10)
        parts.append((leptons[ok], flavour[ok], _mass(leptons[ok].sum(axis=1))))
        accepted += int(ok.sum())
    leptons, flavour, m4l = (np.concatenate(p)[:n] for p in zip(*parts))
    columns = {"m4l": m4l.astype(np.float32), "isHiggsRef": np.full(n, int(signal), dtype=np.int32)}
    momentum = np.hypot(leptons[:, :, 1], leptons[:, :, 2])
    for name, values in [
        ("goodlep_pt", momentum * 1000.0),
        ("goodlep_eta", np.arcsinh(leptons[:, :, 3] / momentum)),
        ("goodlep_phi", np.arctan2(leptons[:, :, 2], leptons[:, :, 1])),
        ("goodlep_E", leptons[:, :, 0] * 1000.0),
    ]:
        columns.update({f"{name}_{k}": values[:, k].astype(np.float32) for k in range(4)})
    columns.update({f"goodlep_type_{k}": flavour[:, k].astype(np.int32) for k in range(4)})
    # Some events have a fifth, non-isolated lepton: good_lep masks it out.
    columns["extra_lepton"] = np.where(rng.uniform(size=n) < 0.15, rng.integers(0, 5, n), -1).astype(np.int32)
    return columns


def make_higgs_4l(directory, entries: int = 20000, seed: int = 6, signal_fraction: float = 0.25) -> list:
    """``ml_dataloader_Higgs_Classification_{train,val,test}.root`` (tree ``tree``) in
    ``directory``: 60%, 20% and 20% of ``entries`` events, a quarter of them H -> 4l."""
    rng = np.random.default_rng(seed)
    n_signal = int(entries * signal_fraction)
    parts = [_four_lepton_events(rng, n_signal, True), _four_lepton_events(rng, entries - n_signal, False)]
    order = rng.permutation(entries)
    events = {name: np.concatenate([p[name] for p in parts])[order] for name in parts[0]}
    vectors = {
        "goodlep_pt": "ROOT::RVecF", "goodlep_eta": "ROOT::RVecF", "goodlep_phi": "ROOT::RVecF",
        "goodlep_E": "ROOT::RVecF", "goodlep_type": "ROOT::RVecI",
    }
    bounds = np.cumsum([0, int(0.6 * entries), int(0.2 * entries)]).tolist() + [entries]
    paths = []
    for split, begin, end in zip(["train", "val", "test"], bounds[:-1], bounds[1:]):
        df = ROOT.RDF.FromNumpy({name: np.ascontiguousarray(v[begin:end]) for name, v in events.items()})
        for name, vector_type in vectors.items():
            df = df.Define(name, f"{vector_type}{{{', '.join(f'{name}_{k}' for k in range(4))}}}")
        df = df.Define("good_lep", "ROOT::RVecI mask(extra_lepton < 0 ? 4 : 5, 1);"
                                   "if (extra_lepton >= 0) mask[extra_lepton] = 0; return mask;")
        path = str(Path(directory) / f"ml_dataloader_Higgs_Classification_{split}.root")
        df.Snapshot("tree", path, ["m4l", "good_lep", *vectors, "isHiggsRef"])
        paths.append(path)
    return paths


# Files, cache and command line --------------------------------------------------------------------

# name -> (writer, entries, entries in fast mode)
FILES = {
    "Higgs_data.root": (make_higgs_data, 10000, 5000),
    "tmva_class_example.root": (make_class_example, 6000, 3000),
    "tmva_reg_example.root": (make_reg_example, 10000, 4000),
    "tmva_multiclass_example.root": (make_multiclass_example, 2000, 1500),
    "ml_dataloader_filters_vectors_hvector.root": (make_filters_vectors, 100, 100),
    "ml_dataloader_Higgs_Classification": (make_higgs_4l, 20000, 8000),
}


def write(name: str, directory, fast: bool = False) -> str:
    """Write the file ``name`` (a key of ``FILES``) into ``directory``; return its path (for the
    three H -> 4l files, the directory). Written under a temporary name, then renamed."""
    writer, entries, fast_entries = FILES[name]
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=directory))
    try:
        writer(staging / name if name.endswith(".root") else staging, fast_entries if fast else entries)
        for produced in staging.iterdir():
            os.replace(produced, directory / produced.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(directory / name) if name.endswith(".root") else str(directory)


def cache_directory(fast: bool = False) -> Path:
    root = os.environ.get("RDATALOADER_TUTORIAL_DATA") or Path(tempfile.gettempdir()) / "rdataloader-tutorial-data"
    return Path(root) / ("fast" if fast else "full")


def generated_file(name: str, fast: bool = False) -> str:
    """Path of the generated file ``name`` in the cache directory, written on first use (for the
    three H -> 4l files, the directory that holds them)."""
    directory = cache_directory(fast)
    if name.endswith(".root"):
        files = [directory / name]
    else:
        files = [directory / f"{name}_{split}.root" for split in ("train", "val", "test")]
    if not all(f.exists() for f in files):
        write(name, directory, fast)
    return str(files[0]) if name.endswith(".root") else str(directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"files to write: {', '.join(FILES)} (default: all)")
    parser.add_argument("--output-dir", default=".", help="where to write the files (default: .)")
    parser.add_argument("--fast", action="store_true", help="fewer entries, as the tutorials' fast mode")
    args = parser.parse_args()
    unknown = set(args.names) - set(FILES)
    if unknown:
        parser.error(f"unknown file(s) {', '.join(sorted(unknown))}; choose from {', '.join(FILES)}")
    for name in args.names or FILES:
        print(write(name, args.output_dir, args.fast))


if __name__ == "__main__":
    main()
