"""Feature normalisation: fitted on the training split in one pass, applied inside the engine's copy."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping, Sequence

from ._cxx import cxx_namespace
from ._errors import close_matches

METHODS = ("standard", "minmax")
#: The C++ enumerator (ROOT::ML::ENormalization) of each method.
_CXX_METHODS = {None: "kNone", "standard": "kStandard", "minmax": "kMinMax"}


@dataclass(frozen=True)
class Normalization:
    """The fitted normalisation of each feature element: ``x -> (x - shift) * scale``.

    ``"standard"`` uses the mean and the (population) standard deviation of the training split,
    ``"minmax"`` maps its range onto [0, 1]; ``None`` leaves an element as it is. Padding of vector
    columns is neither counted nor transformed. Save it with :meth:`save` and pass the loaded object as
    ``normalize=`` to apply the same scaling at inference time.
    """

    columns: tuple[str, ...]
    methods: tuple[str | None, ...]
    shift: tuple[float, ...]
    scale: tuple[float, ...]
    count: tuple[int, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    minimum: tuple[float, ...]
    maximum: tuple[float, ...]
    #: NaN and infinite values of each element in the training split, left out of the fit (they stay NaN or
    #: infinite in the batches).
    skipped: tuple[int, ...] = ()

    @classmethod
    def fit(cls, columns: Sequence[str], methods: Sequence[str | None], statistics) -> Normalization:
        """Fit each element from ``ROOT::ML::RRunningStatistics`` by the engine's rule
        (``ROOT::ML::RNormalization::Fit``, which C++ loaders apply too)."""
        import ROOT

        ml = cxx_namespace()
        cxx_methods = ROOT.std.vector[ml.ENormalization]()
        for method in methods:
            cxx_methods.push_back(getattr(ml.ENormalization, _CXX_METHODS[method]))
        fitted = ml.RNormalization.Fit(list(columns), cxx_methods, statistics)
        skipped = {name: int(n) for name, n in zip(columns, fitted.fSkipped) if n}
        if skipped:
            warnings.warn(
                "RDataLoader: normalize: NaN or infinite values were left out of the fit ("
                + ", ".join(f"{name}: {n}" for name, n in skipped.items())
                + "); they stay NaN or infinite in the batches (loader.normalization.skipped counts them per "
                "feature): Filter them out, or Define a replacement, to train on finite values only",
                stacklevel=4,
            )
        constant = [str(name) for name in fitted.GetConstantColumns()]
        if constant:
            warnings.warn(
                f"RDataLoader: normalize: {', '.join(constant)} do not vary in the training split; they are only "
                "shifted (to 0), not scaled",
                stacklevel=4,
            )
        return cls(
            columns=tuple(columns),
            methods=tuple(methods),
            shift=tuple(fitted.fShift),
            scale=tuple(fitted.fScale),
            count=tuple(int(n) for n in fitted.fCount),
            mean=tuple(fitted.fMean),
            std=tuple(fitted.fStdDev),
            minimum=tuple(fitted.fMinimum),
            maximum=tuple(fitted.fMaximum),
            skipped=tuple(int(n) for n in fitted.fSkipped),
        )

    def save(self, path: str | Path) -> None:
        """Write the normalisation as JSON: the file ``ROOT::ML::RNormalization::Load`` reads in C++."""
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> Normalization:
        """Read a normalisation written by :meth:`save` or by ``ROOT::ML::RNormalization::Save`` in C++."""
        data = json.loads(Path(path).read_text())
        return cls(**{k: tuple(v) for k, v in data.items()})

    def __repr__(self) -> str:
        header = (f"{'feature':<24} {'method':<9} {'count':>9} {'mean':>11} {'std':>11} {'min':>11} {'max':>11} "
                  f"{'skipped':>8}")
        skipped = self.skipped or (0,) * len(self.columns)
        rows = [
            f"{c:<24} {str(m):<9} {n:>9} {mu:>11.4g} {sd:>11.4g} {lo:>11.4g} {hi:>11.4g} {k:>8}"
            for c, m, n, mu, sd, lo, hi, k in zip(self.columns, self.methods, self.count, self.mean, self.std,
                                                   self.minimum, self.maximum, skipped)
        ]
        return "\n".join([header, *rows])


def element_methods(normalize, features: Sequence[str], flat_names) -> list[str | None]:
    """The method of each feature element, from ``normalize="standard"`` or ``{"pt": "minmax", ...}``."""
    per_column: Mapping[str, str | None] = (
        {c: normalize for c in features} if isinstance(normalize, str) else dict(normalize)
    )
    methods = []
    for column in features:
        methods += [per_column.get(column)] * len(flat_names([column]))
    return methods


def check_normalize(normalize, features: Sequence[str]) -> None:
    """Raise for an unknown method or a column that is not a feature."""
    if normalize is None or isinstance(normalize, Normalization):
        return
    choices = normalize.values() if isinstance(normalize, Mapping) else [normalize]
    for method in choices:
        if method is not None and method not in METHODS:
            raise ValueError(f"normalize: {method!r} is not a method; choose 'standard', 'minmax' or None")
    if isinstance(normalize, Mapping):
        for column in normalize:
            if column not in features:
                raise ValueError(f"normalize names {column!r}, which is not a feature column; "
                                 f"{close_matches(column, features)}(features: {list(features)})")
