"""reweight=: every class weighted to a reference distribution of scalar columns, fitted on the training split."""

from __future__ import annotations

import numpy as np
import pytest

import ROOT
import rdataloader

X_EDGES = [0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0]
Y_EDGES = [-2.0, 0.0, 2.0]


@pytest.fixture(scope="module")
def two_shapes(tmp_path_factory) -> str:
    """Class 0: x exponential, y narrow; class 1: x Gaussian around 3, y wide: distributions that differ strongly.
    Class 1 has three times the entries of class 0."""
    path = str(tmp_path_factory.mktemp("reweight") / "shapes.root")
    df = ROOT.RDataFrame(24000).Define("idx", "(Long64_t)rdfentry_").Define("label", "int(idx % 4 != 0)")
    df = df.Define("x", "TRandom3 r(idx + 1); return label ? float(r.Gaus(3, 1)) : float(r.Exp(1.2));")
    df = df.Define("y", "TRandom3 r(2 * idx + 7); return label ? float(r.Gaus(0, 1.5)) : float(r.Gaus(0, 0.6));")
    df = df.Define("w", "1.0f + (idx % 3)")
    options = ROOT.RDF.RSnapshotOptions()
    options.fAutoFlush = 1000
    df.Snapshot("tree", path, ["idx", "label", "x", "y", "w"], options)
    return path


def delivered(split_loader) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y) features, labels and weights of one epoch."""
    features, labels, weights = [], [], []
    for x, y, w in split_loader.as_numpy():
        features.append(np.array(x)), labels.append(np.array(y).reshape(-1)), weights.append(np.array(w)[:, 0])
    return np.concatenate(features), np.concatenate(labels), np.concatenate(weights)


def grid_histogram(features: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Counts in the grid of X_EDGES x Y_EDGES, values outside the edges in the first or last bin."""
    x = np.clip(features[:, 0], X_EDGES[0], np.nextafter(X_EDGES[-1], -np.inf))
    y = np.clip(features[:, 1], Y_EDGES[0], np.nextafter(Y_EDGES[-1], -np.inf))
    histogram, _, _ = np.histogram2d(x, y, bins=[X_EDGES, Y_EDGES], weights=weights)
    return histogram.ravel()


def loader(path, reference, **options):
    return ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", path), batch_size=1000, columns=["x", "y", "label"],
                               target="label", drop_remainder=False, set_seed=3,
                               reweight={"columns": ["x", "y"], "bins": {"x": X_EDGES, "y": Y_EDGES},
                                         "reference": reference}, **options)


@pytest.mark.parametrize("reference", ["flat", 0])
def test_every_class_takes_the_reference_distribution(two_shapes, reference):
    train, val = loader(two_shapes, reference).train_test_split(0.25)
    features, labels, weights = delivered(train)
    # The independent reference: the unweighted training entries, binned by NumPy.
    counts = {c: grid_histogram(features[labels == c]) for c in (0, 1)}
    filled = (counts[0] + counts[1]) > 0
    target = filled / filled.sum() if reference == "flat" else counts[0] / counts[0].sum()
    for c in (0, 1):
        weighted = grid_histogram(features[labels == c], weights[labels == c])
        reachable = counts[c] > 0
        # Where the class has entries its weighted distribution is the reference's share, exactly.
        np.testing.assert_allclose(weighted[reachable] / counts[c].sum(), target[reachable], rtol=1e-5)
    assert not np.allclose(counts[0] / counts[0].sum(), counts[1] / counts[1].sum(), atol=0.05)  # they differed

    # Validation entries take the training split's weights: their weighted shapes agree within statistics.
    features, labels, weights = delivered(val)
    shapes = []
    for c in (0, 1):
        histogram = grid_histogram(features[labels == c], weights[labels == c])
        variance = grid_histogram(features[labels == c], weights[labels == c] ** 2)
        shapes.append((histogram / histogram.sum(), np.sqrt(variance) / histogram.sum()))
    (a, da), (b, db) = shapes
    error = np.sqrt(da**2 + db**2)
    both = (a > 0) & (b > 0)
    assert np.all(np.abs(a - b)[both] < 5 * error[both] + 1e-3), (a, b, error)

    table = train.reweighting
    assert table.columns == ("x", "y") and len(table.weights[1]) == (len(X_EDGES) - 1) * (len(Y_EDGES) - 1)
    assert "class 1:" in repr(table)


def test_reweighting_multiplies_the_weights_column_and_the_class_weights_and_is_the_same_on_every_rank(two_shapes):
    reweighted = ROOT.ML.RDataLoader(
        ROOT.RDataFrame("tree", two_shapes), batch_size=1000, columns=["idx", "x", "y", "label", "w"], target="label",
        weights="w", class_weights={0: 2.0, 1: 0.5}, drop_remainder=False, shuffle=False,
        reweight={"columns": "x", "bins": X_EDGES, "reference": "flat"})
    table = reweighted.reweighting
    features, labels, weights = delivered(reweighted)
    stored = ROOT.RDataFrame("tree", two_shapes).AsNumpy(["idx", "w"])
    event_weight = stored["w"][features[:, 0].astype(np.int64)]
    x_bin = np.clip(np.searchsorted(X_EDGES, features[:, 1], side="right") - 1, 0, len(X_EDGES) - 2)
    expected = event_weight * np.where(labels == 0, 2.0, 0.5) * np.array(
        [table.weights[int(c)][b] for c, b in zip(labels, x_bin)])
    np.testing.assert_allclose(weights, expected, rtol=1e-6)

    ranks = [ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", two_shapes), batch_size=100, columns=["x", "label"],
                                 target="label", set_seed=9, rank=r, world_size=2,
                                 reweight={"columns": "x", "bins": X_EDGES}).reweighting for r in (0, 1)]
    assert ranks[0] == ranks[1]


def test_the_reweighting_is_saved_with_the_prepared_dataset(two_shapes, tmp_path):
    prepared = loader(two_shapes, "flat", shuffle=False)
    path = prepared.save(tmp_path / "reweighted.root")
    record = rdataloader.saved_record(path)
    assert record["reweighting"]["reference"] == "flat"
    assert record["reweighting"]["weights"] == {str(k): list(v) for k, v in prepared.reweighting.weights.items()}
    assert record["loader_options"]["weights"] == "weight"


@pytest.mark.parametrize(
    "reweight, message",
    [
        ({"columns": ["x"]}, "takes the keys 'columns', 'bins'"),
        ({"columns": ["x"], "bins": [0, 1], "colour": 1}, "takes the keys"),
        ({"columns": ["nope"], "bins": [0, 1]}, "no column 'nope'"),
        ({"columns": ["idx"], "bins": [0, 1]}, "not among columns"),
        ({"columns": ["x"], "bins": [1, 0]}, "strictly increasing"),
        ({"columns": ["x"], "bins": [0, float("inf")]}, "finite"),
        ({"columns": ["x", "y"], "bins": {"x": [0, 1]}}, "missing ['y']"),
        ({"columns": ["x"], "bins": [0, 1], "reference": "class0"}, "'flat' or a class label"),
        ({"columns": ["v"], "bins": [0, 1]}, "is a vector column"),
        ("x", "must be a dict"),
    ],
)
def test_bad_reweight_raises_naming_the_problem(two_shapes, reweight, message):
    df = ROOT.RDataFrame("tree", two_shapes).Define("v", "ROOT::RVecF{x, y}")
    with pytest.raises((ValueError, TypeError, KeyError), match=message.replace("[", r"\[").replace("]", r"\]")):
        ROOT.ML.RDataLoader(df, batch_size=100, columns=["x", "y", "v", "label"], target="label",
                            max_vec_sizes={"v": 2}, reweight=reweight)


def test_reweight_needs_a_class_label_target_and_no_resampling(two_shapes):
    df = ROOT.RDataFrame("tree", two_shapes)
    with pytest.raises(ValueError, match="single target of class labels"):
        ROOT.ML.RDataLoader(df, batch_size=100, columns=["x", "label"], reweight={"columns": "x", "bins": [0, 1]})
    with pytest.raises(ValueError, match="not both"):
        ROOT.ML.RDataLoader([df, df], batch_size=100, columns=["x", "label"], target="label",
                            sampling_type="undersampling", reweight={"columns": "x", "bins": [0, 1]})
    with pytest.raises(ValueError, match="at most a million"):  # checked by the engine, before any thread starts
        ROOT.ML.RDataLoader(df, batch_size=100, columns=["x", "y", "label"], target="label",
                            reweight={"columns": ["x", "y"], "bins": list(range(1002))}).reweighting
    with pytest.raises(ValueError, match="reference class 7"):
        ROOT.ML.RDataLoader(df, batch_size=100, columns=["x", "label"], target="label",
                            reweight={"columns": "x", "bins": [0, 1], "reference": 7}).reweighting
