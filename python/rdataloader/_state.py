"""``state_dict()`` and ``load_state_dict()``: where a loader stands, as a plain JSON-serialisable dict.

An epoch is a function of (seed, split, epoch number, world size, rank) alone, so the position of a run
is the seed, the epochs started per split, and the batches already delivered by the epoch that is
running. Resuming restarts that epoch and skips those batches in the engine.
"""

from __future__ import annotations

import json
import numbers
from typing import Any, Mapping

from ._engine import Engine
from ._spec import LoaderSpec

#: 2: the validation split of a dataframe of few clusters is drawn in blocks of its clusters, so that a state of
#: format 1 would resume another split.
FORMAT = "rdataloader.state/2"
SPLITS = ("train", "validation")


def _options(spec: LoaderSpec, engine: Engine) -> dict[str, Any]:
    """Everything besides the dataset that decides what the epochs hold, as JSON would return it."""
    options = {
        "dataframes": len(spec.nodes),
        "columns": spec.columns,
        "types": [t.cxx for t in spec.types],
        "targets": spec.targets,
        "weights": spec.weights,
        "max_vec_sizes": spec.max_vec_sizes,
        "vec_padding": spec.vec_padding,
        "dtypes": spec.dtypes,
        "batch_size": spec.batch_size,
        "batches_in_memory": engine.batches_in_memory,
        "load_eager": spec.load_eager,
        "shuffle": "global" if spec.global_shuffle else spec.shuffle,
        "drop_remainder": spec.drop_remainder,
        "split": engine.split.describe(),
        "normalization": list(engine.normalization.shift + engine.normalization.scale)
        if engine.normalization else None,
        "class_weights": {str(k): v for k, v in engine.class_weights.items()} if engine.class_weights else None,
        "sampling": vars(spec.sampling) if spec.sampling else None,
    }
    if engine.reweighting is not None:  # absent otherwise, so that states saved before reweighting existed load
        options["reweighting"] = {str(label): weights for label, weights in engine.reweighting.weights.items()}
    return json.loads(json.dumps(options))


def state_dict(spec: LoaderSpec, engine: Engine) -> dict[str, Any]:
    position = engine.position()
    return {
        "format": FORMAT,
        "seed": spec.seed,
        "world_size": spec.world_size,
        "epochs": {name: engine.num_epochs(split) for split, name in enumerate(SPLITS)},
        "running": None if position is None else {"split": SPLITS[position[0]], "batches": position[1]},
        "options": _options(spec, engine),
        "dataset": f"{engine.dataset_digest():016x}",
    }


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < 2**64:
        raise ValueError(f"malformed RDataLoader state: {what} must be an integer in [0, 2**64); got {value!r}")
    return int(value)


def load_state_dict(spec: LoaderSpec, engine: Engine, state: Mapping[str, Any]) -> None:
    """Check the whole state first and change the loader only then: a refused state leaves it as it was."""
    if not isinstance(state, Mapping) or not str(state.get("format", "")).startswith(FORMAT.split("/")[0] + "/"):
        raise ValueError(f"not an RDataLoader state (a dict from state_dict() with format {FORMAT!r})")
    if state["format"] != FORMAT:
        raise ValueError(f"this state was saved by another version of rdataloader (format {state['format']!r}, this "
                         f"version reads {FORMAT!r}), whose epochs this one does not reproduce: start the run again, "
                         "or resume it with that version")
    try:
        saved_options, digest, running = state["options"], state["dataset"], state["running"]
        seed = _count(state["seed"], "seed")
        world_size = _count(state["world_size"], "world_size")
        epochs = [_count(state["epochs"][name], f"epochs[{name!r}]") for name in SPLITS]
    except (KeyError, TypeError) as error:
        raise ValueError(f"malformed RDataLoader state: {error!r}") from error

    ours = _options(spec, engine)
    differences = [
        f"{name}={saved_options.get(name)!r} in the state but {value!r} in this loader"
        for name, value in ours.items()
        if not isinstance(saved_options, Mapping) or saved_options.get(name) != value
    ]
    if differences:
        hint = ""
        if any(d.startswith("split=") for d in differences):
            hint = "; split this loader with train_test_split() as the saved one was, then load the state"
        raise ValueError(f"this RDataLoader cannot resume the saved state: {'; '.join(differences)}{hint}")
    if digest != f"{engine.dataset_digest():016x}":
        raise ValueError(
            "this RDataLoader cannot resume the saved state: its dataset differs from the saved one "
            "(other files, or files whose clusters or entries passing the filters changed)"
        )
    if seed != spec.seed and not spec.seed_drawn:
        raise ValueError(
            f"the state was saved with seed {seed}, but this RDataLoader has set_seed={spec.seed}; "
            f"create it with set_seed={seed}, or set_seed=0 to take the seed from the state"
        )

    position = None
    if running is not None:
        try:
            split = SPLITS.index(running["split"])
            batches = _count(running["batches"], "running['batches']")
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"malformed RDataLoader state: running={running!r}") from error
        if world_size != spec.world_size:
            raise ValueError(
                f"the state was saved in the middle of an epoch read by {world_size} process(es), but this "
                f"RDataLoader has world_size={spec.world_size}: an epoch can only be resumed by as many processes "
                "as started it (the world size may change between epochs)"
            )
        if epochs[split] == 0 or batches > engine.num_batches(split):
            raise ValueError(
                f"malformed RDataLoader state: {batches} batches delivered in epoch {epochs[split] - 1} "
                f"of {SPLITS[split]}, which has {engine.num_batches(split)}"
            )
        position = (split, batches)

    if seed != spec.seed:
        engine.reseed(seed)
        spec.seed = seed
    engine.restore(epochs, position)
