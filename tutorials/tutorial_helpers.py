"""What the ported TMVA tutorials share: command-line arguments, the training-split statistics that
replace TMVA's ``VarTransform``, ROC curves, the evaluation of multiclass and regression outputs, and
writing model outputs back into a dataframe."""

from __future__ import annotations

import argparse
import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import ROOT

import make_tmva_data


def arguments(doc: str, data_file: str) -> argparse.Namespace:
    """Parse ``--input`` (default: the generated ``data_file``), ``--fast`` and ``--output-dir``
    (default: a new temporary directory), and create the output directory."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", help=f"the original {data_file} (default: a generated one)")
    parser.add_argument("--fast", action="store_true", help="small data and few epochs, for tests")
    parser.add_argument("--output-dir", type=Path, help="where plots and models go (default: a temporary directory)")
    args = parser.parse_args()
    args.input = args.input or make_tmva_data.generated_file(data_file, fast=args.fast)
    args.output_dir = args.output_dir or Path(tempfile.mkdtemp(prefix="rdataloader-tutorial-"))
    args.output_dir.mkdir(parents=True, exist_ok=True)
    print(f"input: {args.input}\noutput directory: {args.output_dir}")
    return args


@dataclass
class FeatureStatistics:
    """Mean, covariance, minimum and maximum of the features seen in one pass over the data."""

    mean: np.ndarray
    covariance: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray

    def transform(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """``(shift, matrix)`` of TMVA's variable transformation ``kind``: ``x' = (x - shift) @ matrix``.

        ``"N"`` maps each feature's range onto [-1, 1]; ``"D"`` decorrelates (the inverse square
        root of the covariance matrix, as TMVA does), which also gives unit variances; ``"S"``
        (no TMVA letter) standardises each feature to zero mean and unit variance, leaving
        constant features unscaled.
        """
        if kind == "N":
            return (self.maximum + self.minimum) / 2, np.diag(2 / (self.maximum - self.minimum))
        if kind == "S":
            std = np.sqrt(np.diag(self.covariance))
            return self.mean, np.diag(1 / np.where(std > 0, std, 1.0))
        if kind == "D":
            eigenvalues, eigenvectors = np.linalg.eigh(self.covariance)
            return self.mean, eigenvectors @ np.diag(eigenvalues**-0.5) @ eigenvectors.T
        raise ValueError(f"unknown transformation {kind!r}: use 'N', 'D' or 'S'")


def torch_affine(shift: np.ndarray, matrix: np.ndarray):
    """A fixed (not trained) ``torch.nn.Linear`` computing ``(x - shift) @ matrix``."""
    import torch

    layer = torch.nn.Linear(*matrix.shape)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(np.asarray(matrix.T, dtype=np.float32)))
        layer.bias.copy_(torch.from_numpy(np.asarray(-shift @ matrix, dtype=np.float32)))
    return layer.requires_grad_(False)


def keras_affine(shift: np.ndarray, matrix: np.ndarray, name: str):
    """A fixed (not trained) ``keras.layers.Dense`` computing ``(x - shift) @ matrix``; a plain
    Dense layer, so that a saved model loads without custom objects."""
    import keras

    layer = keras.layers.Dense(matrix.shape[1], trainable=False, name=name)
    layer.build((None, matrix.shape[0]))
    layer.set_weights([np.asarray(matrix, dtype=np.float32), np.asarray(-shift @ matrix, dtype=np.float32)])
    return layer


def feature_statistics(batches) -> FeatureStatistics:
    """One pass over 2-D arrays, or over batches whose first element is one (``x`` of ``(x, y)``):
    e.g. ``train.as_numpy()`` for the features of the training split only, as TMVA computes its
    transformations, or ``(y for _, y in train.as_numpy())`` for the targets."""
    count, total, products = 0, 0.0, 0.0
    minimum = maximum = None
    for batch in batches:
        x = np.asarray(batch[0] if isinstance(batch, tuple) else batch, dtype=np.float64)
        count += len(x)
        total = total + x.sum(axis=0)
        products = products + x.T @ x
        minimum = x.min(axis=0) if minimum is None else np.minimum(minimum, x.min(axis=0))
        maximum = x.max(axis=0) if maximum is None else np.maximum(maximum, x.max(axis=0))
    mean = total / count
    covariance = (products - count * np.outer(mean, mean)) / (count - 1)
    return FeatureStatistics(mean, covariance, minimum, maximum)


def roc_curve(scores, labels, weights=None) -> tuple[np.ndarray, np.ndarray]:
    """Background efficiency (false-positive rate) and signal efficiency (true-positive rate) for
    every cut on ``scores``; ``labels`` are 1 for signal and 0 for background."""
    scores, labels = np.ravel(scores), np.ravel(labels)
    weights = np.ones_like(scores) if weights is None else np.ravel(weights)
    order = np.argsort(-scores, kind="stable")
    scores, labels, weights = scores[order], labels[order], weights[order]
    last_of_each_score = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp = np.cumsum(weights * (labels == 1))[last_of_each_score]
    fp = np.cumsum(weights * (labels == 0))[last_of_each_score]
    return np.r_[0.0, fp / fp[-1]], np.r_[0.0, tp / tp[-1]]


def roc_auc(scores, labels, weights=None) -> float:
    """Area under the ROC curve: the probability that a signal entry scores above a background one."""
    fpr, tpr = roc_curve(scores, labels, weights)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def plot_classifiers(path, results: dict) -> None:
    """ROC curves (left) and output distributions (right) of several classifiers, saved to ``path``;
    ``results`` maps a name to ``(scores, labels, weights)`` of the test entries."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    bins = np.linspace(0, 1, 41)
    for i, (name, (scores, labels, weights)) in enumerate(results.items()):
        scores, labels = np.ravel(scores), np.ravel(labels)
        weights = np.ones_like(scores) if weights is None else np.ravel(weights)
        fpr, tpr = roc_curve(scores, labels, weights)
        left.plot(tpr, 1 - fpr, color=f"C{i}", label=f"{name} (AUC {roc_auc(scores, labels, weights):.3f})")
        for label, style in ((1, "-"), (0, "--")):
            mask = labels == label
            right.hist(scores[mask], bins=bins, weights=weights[mask], density=True, histtype="step", color=f"C{i}",
                       linestyle=style, label=f"{name}, {'signal' if label else 'background'}")
    left.set(xlabel="signal efficiency", ylabel="background rejection", title="ROC curve (test entries)")
    right.set(xlabel="classifier output", ylabel="density", title="Classifier output (test entries)")
    left.legend()
    right.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"plot written to {path}")


def evaluate_multiclass(scored_file: str, classes: dict, test: str, probability_columns, path) -> float:
    """Accuracy on the ``test`` entries of each class's tree in ``scored_file`` (the predicted class is
    the most probable one), with the confusion matrix plotted to ``path``."""
    confusion = np.zeros((len(classes), len(classes)))
    for true_class, tree in enumerate(classes):
        entries = ROOT.RDataFrame(tree, scored_file).Filter(test).AsNumpy(probability_columns)
        predicted = np.argmax(np.column_stack([entries[c] for c in probability_columns]), axis=1)
        confusion[true_class] = np.bincount(predicted, minlength=len(classes))
    accuracy = np.trace(confusion) / confusion.sum()

    fig, ax = plt.subplots(figsize=(6, 5))
    fractions = confusion / confusion.sum(axis=1, keepdims=True)
    ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    for (row, col), value in np.ndenumerate(fractions):
        ax.text(col, row, f"{value:.2f}", ha="center", va="center")
    ax.set(xticks=range(len(classes)), yticks=range(len(classes)), xticklabels=classes.values(),
           yticklabels=classes.values(), xlabel="predicted class", ylabel="true class",
           title=f"Test entries: accuracy {accuracy:.3f}")
    ax.tick_params(axis="x", labelrotation=20)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return float(accuracy)


def evaluate_regression(scored_file: str, tree: str, target: str, prediction: str, test: str, path) -> float:
    """RMS of the residuals over the spread of ``target``, on the ``test`` entries of ``tree`` in
    ``scored_file``; prediction against truth and the residuals plotted to ``path``."""
    entries = ROOT.RDataFrame(tree, scored_file).Filter(test).AsNumpy([target, prediction])
    residuals = entries[prediction] - entries[target]
    rms = np.sqrt(np.mean(residuals**2))
    print(f"test residuals: mean {residuals.mean():.3f}, RMS {rms:.3f}")

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    left.hist2d(entries[target], entries[prediction], bins=60, cmin=1)
    left.set(xlabel=target, ylabel="prediction", title="Prediction vs truth (test entries)")
    right.hist(residuals, bins=60)
    right.set(xlabel=f"prediction - {target}", title="Residuals (test entries)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return float(rms / np.std(entries[target]))


@functools.cache
def _declare_define_from_array() -> None:
    ROOT.gInterpreter.Declare(
        """
namespace tutorial_helpers {
ROOT::RDF::RNode DefineFromArray(ROOT::RDF::RNode df, std::string_view name, const float *values, std::size_t size)
{
   return df.Define(name, [column = ROOT::RVecF(values, values + size)](ULong64_t entry) { return column[entry]; },
                    {"rdfentry_"});
}
}
"""
    )


def define_from_numpy(df, names, values) -> ROOT.RDF.RNode:
    """``df`` with new float columns holding ``values``, one row per entry in entry order: a
    column ``names`` for 1-D ``values``, or one column per name for 2-D ``values``.

    The values are copied into the dataframe's computation graph. ``rdfentry_`` is the entry number
    only while the event loop runs single-threaded (no ``ROOT.EnableImplicitMT()``).
    """
    names = [names] if isinstance(names, str) else list(names)
    values = np.asarray(values, dtype=np.float32).reshape(len(values), -1)
    entries = df.Count().GetValue()
    if values.shape != (entries, len(names)):
        raise ValueError(f"values of shape {values.shape} for {entries} entries and columns {names}")
    _declare_define_from_array()
    df = ROOT.RDF.AsRNode(df)
    for name, column in zip(names, values.T):
        column = np.ascontiguousarray(column)
        df = ROOT.tutorial_helpers.DefineFromArray(df, name, column, column.size)
    return df
