"""Loaders described by plain dicts, and the epochs they deliver; run as a script, it resumes saved states
in a process of its own, as a restarted training job would.

    python resume_worker.py CASES.json OUT_DIR

CASES.json maps a name to a case: ``paths``, optional ``filter``, ``kwargs`` for RDataLoader, optional
``test_size``, the ``state`` to load and the ``splits`` to iterate afterwards. OUT_DIR/<name>.npz
receives those epochs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import ROOT

SPLITS = {"train": 0, "validation": 1}


def build_loaders(case: dict) -> tuple:
    """(train, validation) views, or (loader,) without a test_size."""
    df = ROOT.RDataFrame("tree", case["paths"])
    if case.get("filter"):
        df = df.Filter(case["filter"])
    kwargs = {"batch_size": 16, "set_seed": 5, **case.get("kwargs", {})}
    loader = ROOT.ML.RDataLoader(df, columns=["idx", "x"], target="x", dtypes={"idx": "int64"}, **kwargs)
    return loader.train_test_split(case["test_size"]) if case.get("test_size") else (loader,)


def collect(batches) -> dict[str, np.ndarray]:
    """Batches (x, y) as the concatenated indices, the raw bytes of the targets, and the batch sizes."""
    idx, targets, sizes = [], [], []
    for x, y in batches:
        idx.append(x[:, 0].copy())
        targets.append(y.copy())
        sizes.append(len(x))
    return {"idx": np.concatenate(idx) if idx else np.empty(0, np.int64),
            "bytes": np.frombuffer(b"".join(t.tobytes() for t in targets), dtype=np.uint8),
            "sizes": np.asarray(sizes, dtype=np.int64)}


def read_epochs(views: tuple, splits: list[str]) -> list[dict[str, np.ndarray]]:
    return [collect(views[SPLITS[split]].as_numpy()) for split in splits]


def main() -> None:
    cases = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    for name, case in cases.items():
        views = build_loaders(case)
        views[0].load_state_dict(case["state"])
        epochs = read_epochs(views, case["splits"])
        np.savez(out / f"{name}.npz", **{f"{i}_{key}": value for i, epoch in enumerate(epochs)
                                         for key, value in epoch.items()})
    # Nothing here asked for torch: the loader must not have imported it to look for a process group.
    (out / "modules.json").write_text(json.dumps({"torch": "torch" in sys.modules}))


if __name__ == "__main__":
    main()
