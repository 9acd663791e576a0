"""Fuzzing ``ROOT.ML.RDataLoader``'s options: for any combination, valid or not, no crash, no hang, and
either a clear Python exception (before the first batch) or every entry exactly once.

The hypothesis loop runs in one child process (so that a segfault or an abort fails this test, naming
the case, instead of killing pytest), which keeps the engines cling compiles for each set of column
types: the columns come from a small fixed set (``idx`` Long64_t, ``x``/``y`` float, ``label`` int, a
Defined ``v`` RVec<float>), so only a few engines are ever compiled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rdataloader

from conftest import write_tree

#: Examples hypothesis runs (deterministically: derandomize=True, no database).
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 300))

#: A case taking longer than this is a hang: the child dumps its threads' stacks and exits. (A case takes
#: well under a second, plus up to ~20 s on a loaded machine when cling compiles a new engine.)
CASE_TIMEOUT_S = 120

#: Shrinking a failure to its minimal case (after which hypothesis reports the smallest found so far).
SHRINK_S = 150

#: The whole child, including compiling the engines and, on a failure, shrinking.
CHILD_TIMEOUT_S = 600

#: Two files written by conftest.write_tree: (entries, first idx, entries per cluster).
FILE_A = (150, 0, 32)
FILE_B = (90, 150, 25)

WORKER = r'''
import faulthandler
import json
import re
import sys
import time
import traceback
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ROOT
import rdataloader  # noqa: F401  (makes sure ROOT.ML is registered)

CONFIG = json.loads(sys.argv[1])
FILE_A, FILE_B = CONFIG["files"]
(N_A, START_A, _), (N_B, START_B, _) = CONFIG["layout"]
faulthandler.enable()

# A failure is shrunk for at most this long (hypothesis's default is 300 s), to stay within the child's timeout.
try:
    from hypothesis.internal.conjecture import engine as _engine

    _engine.MAX_SHRINKING_SECONDS = CONFIG["shrink_seconds"]
except (ImportError, AttributeError):
    pass

PREFIX = "FUZZ "


def emit(kind, **fields):
    print(PREFIX + json.dumps({"kind": kind, **fields}, default=repr), flush=True)


# The case space -----------------------------------------------------------------------------------

# Always in this order after "idx", the order of GetColumnNames() (columns=None): at most 12 column-type
# signatures, so at most 12 engines for cling to compile.
POOL = ["label", "v", "x", "y"]
FILTERS = [None, "idx % 3 != 0", "idx < 0", "idx < 4"]  # all, two thirds, nothing, a handful

# option: (valid values, invalid values); the first valid value is what hypothesis shrinks towards.
OPTIONS = {
    "batch_size": ([7, 64, 1, 1000], [0, -1, 7.0]),
    "batches_in_memory": ([None, 1, 3], [0]),
    "target": ([None, "label", ["label", "y"]], [["label", "label"], "lable"]),
    "weights": (["", "y"], ["w_missing"]),
    # "auto": {"v": 2} when v is loaded, else none; "absent" and 2 are wrong only one way round.
    "max_vec_sizes": (["auto"], ["absent", 0, 2]),
    "vec_padding": ([0, -1.5], []),
    "shuffle": ([True, False, "global"], ["yes"]),
    "drop_remainder": ([False, True], []),
    "set_seed": ([7, 0], [-1, 2**64]),
    "load_eager": ([False, True], []),
    "normalize": ([None, "standard", {"x": "minmax"}], [{"q": "standard"}, "bad"]),
    # {0: 1.0}: no weight for class 1, which the data holds (an early, clear refusal is fine too).
    "class_weights": ([None, "balanced", {0: 1.0, 1: 2.0}, {0: 1.0}], [{"a": 1}]),
    "sampling_type": (["", "undersampling", "oversampling"], ["bogus"]),
    "sampling_ratio": ([1.0, 0.5], [0.0, 1.5]),
    "replacement": ([False, True], []),
    "read_threads": ([2, 0], [-1]),
    "test_size": ([None, 0.25], [1.5]),
    "dtypes": (["features64", None, "features64+label_int"], ["idx_only", "bogus", "unknown"]),
    "columns": (["subset", None], ["misspelled", "repeat"]),
}
MIXED = {name: valid + invalid for name, (valid, invalid) in OPTIONS.items()}
# The options to break in "one_invalid" mode, those whose check needs the data (or the other options)
# more often than those checked on their own.
DEEP = {"class_weights": 4, "sampling_type": 2, "sampling_ratio": 2, "max_vec_sizes": 2, "dtypes": 2, "columns": 2,
        "target": 2}
BREAKABLE = [name for name, (_, invalid) in OPTIONS.items() if invalid for _ in range(DEEP.get(name, 1))]


@st.composite
def cases(draw):
    # "valid": every option from its valid values; "one_invalid": exactly one option from its invalid
    # values; "any": each option from all its values.
    roll = draw(st.integers(0, 9), label="mode")
    mode = "valid" if roll < 5 else "one_invalid" if roll < 9 else "any"
    broken = BREAKABLE[draw(st.integers(0, len(BREAKABLE) - 1), label="broken")] if mode == "one_invalid" else None
    chosen = {}
    for name in OPTIONS:
        valid, invalid = OPTIONS[name]
        pool = invalid if name == broken else MIXED[name] if mode == "any" else valid
        if name == "target" and mode != "any" and name != broken:
            pool = ["label", "label", None, ["label", "y"]]  # mostly one class label: weights and resampling
        chosen[name] = pool[draw(st.integers(0, len(pool) - 1), label=name)]
    case = {
        "frames": draw(st.sampled_from(["one", "chain", "two"]), label="frames"),
        "filter": draw(st.sampled_from(FILTERS), label="filter"),
        "mode": mode,
    }
    case.update({k: chosen[k] for k in ("batch_size", "batches_in_memory", "vec_padding", "shuffle",
                                         "drop_remainder", "set_seed", "load_eager", "normalize", "read_threads",
                                         "test_size", "target", "weights")})

    # Options that only make sense together are made coherent (except the one broken on purpose) in the
    # "valid" and "one_invalid" modes, and left as drawn in "any".
    def fix(name):
        return mode != "any" and name != broken

    single = case["target"] == "label"
    if fix("weights") and (not case["target"] or case["weights"] in case["target"]):
        case["weights"] = ""
    # Class balance: class weights or resampling (not both), and only with one class-label target.
    balance = draw(st.sampled_from(["class_weights", "sampling"]), label="balance")
    keep_weights = not fix("class_weights") or (single and balance == "class_weights")
    keep_sampling = not fix("sampling_type") or (single and balance == "sampling")
    case["class_weights"] = chosen["class_weights"] if keep_weights else None
    sampling = chosen["sampling_type"] if keep_sampling else ""
    case["sampling_type"] = sampling
    if sampling:
        case["resample_by"] = "target"  # the class labels, which any of the frames hold (not ROOT's two dataframes)
    if sampling or not fix("sampling_ratio") or not fix("replacement"):
        case["sampling_ratio"] = chosen["sampling_ratio"]
        case["replacement"] = chosen["replacement"]
    if fix("shuffle") and case["shuffle"] == "global" and (sampling or case["load_eager"]):
        case["shuffle"] = True

    # Columns: "idx" first, then a subset of POOL in POOL's order; targets and weights usually included.
    kind = chosen["columns"]
    if kind is None:
        columns = None
    else:
        picked = draw(st.lists(st.sampled_from(POOL), unique=True, max_size=len(POOL)), label="column_subset")
        wanted = set(picked)
        if mode != "any" or draw(st.booleans(), label="add_targets_to_columns"):
            target = case["target"]
            wanted |= {t for t in ([target] if isinstance(target, str) else target or []) if t in POOL}
            if case["weights"] in POOL:
                wanted.add(case["weights"])
            if isinstance(case["normalize"], dict):
                wanted |= {c for c in case["normalize"] if c in POOL}
        columns = ["idx"] + [c for c in POOL if c in wanted]
        if kind == "misspelled":
            columns.insert(draw(st.integers(1, len(columns)), label="typo_at"),
                           draw(st.sampled_from(["xx", "lable", "idx_"]), label="typo"))
        elif kind == "repeat":
            columns.append(draw(st.sampled_from(columns), label="repeated"))
    case["columns"] = columns
    loaded = columns if columns is not None else ["idx"] + POOL
    has_v = "v" in loaded

    sizes = chosen["max_vec_sizes"]
    if sizes == "auto":
        case["max_vec_sizes"] = {"v": 2} if has_v else None
    elif sizes != "absent":
        case["max_vec_sizes"] = {"v": sizes}
    else:
        case["max_vec_sizes"] = None

    # dtypes: idx as float64 (exact), so every feature float64 (features share one dtype).
    target = case["target"]
    targets = [target] if isinstance(target, str) else list(target or [])
    features = [c for c in dict.fromkeys(loaded) if c not in targets and c != case["weights"]]
    kind = chosen["dtypes"]
    dtypes = None if kind is None else {c: "float64" for c in features if c in POOL + ["idx"]}
    if kind == "features64+label_int" and (target == "label" or not fix("dtypes")):
        dtypes["label"] = "int64"
    elif kind == "idx_only":
        dtypes = {"idx": "float64"}
    elif kind == "bogus":
        dtypes[draw(st.sampled_from(["idx", "x"]), label="bogus_column")] = draw(
            st.sampled_from(["complex64", "not_a_dtype", "U8"]), label="bogus_dtype")
    elif kind == "unknown":
        dtypes["q"] = "float64"
    case["dtypes"] = dtypes
    return case


# Running a case -----------------------------------------------------------------------------------

def frames(case):
    kind, flt = case["frames"], case["filter"]
    if kind == "one":
        dfs = [ROOT.RDataFrame("tree", FILE_A)]
    elif kind == "chain":
        dfs = [ROOT.RDataFrame("tree", ROOT.std.vector["std::string"]([FILE_A, FILE_B]))]
    else:
        dfs = [ROOT.RDataFrame("tree", FILE_A), ROOT.RDataFrame("tree", FILE_B)]
    nodes = []
    for df in dfs:
        node = ROOT.RDF.AsRNode(df)
        if flt:
            node = ROOT.RDF.AsRNode(node.Filter(flt))
        # v: 0, 1 or 2 copies of x (padding and truncation both happen with max_vec_sizes {"v": 2}).
        node = ROOT.RDF.AsRNode(node.Define("v", "ROOT::RVecF(idx % 3, x)"))
        nodes.append(node)
    return nodes if kind == "two" else nodes[0]


def expected_indices(case):
    """The idx values the dataframe(s) hold after the filter, from the files' layout alone."""
    ids = np.arange(START_A, START_A + N_A)
    if case["frames"] != "one":
        ids = np.concatenate([ids, np.arange(START_B, START_B + N_B)])
    if case["filter"] == "idx % 3 != 0":
        ids = ids[ids % 3 != 0]
    elif case["filter"] == "idx < 0":
        ids = ids[:0]
    elif case["filter"] == "idx < 4":
        ids = ids[ids < 4]
    return ids


LOADER_KEYS = ["batch_size", "batches_in_memory", "columns", "max_vec_sizes", "vec_padding", "target", "weights",
               "shuffle", "drop_remainder", "set_seed", "load_eager", "sampling_type", "sampling_ratio",
               "replacement", "dtypes", "normalize", "class_weights", "read_threads", "resample_by"]


class Raised(Exception):
    def __init__(self, phase, error):
        super().__init__(phase)
        self.phase, self.error = phase, error


def column_values(name, ids, padding):
    """What the files hold for column ``name`` in the entries ``ids`` (conftest.write_tree, and the Define of v)."""
    x = ids * 0.5
    if name == "idx":
        return ids.astype(np.float64)
    if name == "label":
        return (ids % 2).astype(np.float64)
    if name == "x":
        return x
    if name == "y":
        return (ids % 7).astype(np.float64)
    if name in ("v_0", "v_1"):  # v = RVecF(idx % 3, x), padded or truncated to 2
        return np.where(ids % 3 > int(name[-1]), x, padding)
    raise AssertionError(f"unexpected column {name!r} in the tensors")


def check_row_values(kwargs, names, targets, weights, parts, ids):
    """Every delivered row is the entry its idx names: features, targets and weights."""
    padding = float(kwargs.get("vec_padding", 0))
    normalize = kwargs.get("normalize")
    scaled = set(names) if isinstance(normalize, str) else {n for n in names if n.split("_")[0] in (normalize or {})}
    x = parts[0]
    for i, name in enumerate(names):
        if name not in scaled:
            assert np.array_equal(x[:, i].astype(np.float64), column_values(name, ids, padding)), \
                f"feature {name!r} does not hold the values of the entries whose idx the row carries"
    if targets:
        assert len(parts) >= 2, f"a target {targets} but batches of {len(parts)} arrays"
        y = parts[1].reshape(len(ids), -1)
        assert y.shape[1] == len(targets), f"y has shape {parts[1].shape} for targets {targets}"
        for j, name in enumerate(targets):
            assert np.array_equal(y[:, j].astype(np.float64), column_values(name, ids, padding)), \
                f"target {name!r} does not hold the values of the entries whose idx the row carries"
    class_weights = kwargs.get("class_weights")
    if weights or class_weights is not None:
        assert len(parts) == 3, f"weights or class_weights but batches of {len(parts)} arrays"
        w = parts[2].reshape(len(ids), -1)
        assert w.shape[1] == 1, f"w has shape {parts[2].shape}"
        if class_weights != "balanced":
            expected = column_values(weights, ids, padding) if weights else np.ones(len(ids))
            known = np.ones(len(ids), dtype=bool)  # rows of a class the dict gives no weight: any w
            if class_weights is not None:
                known = np.array([int(i % 2) in class_weights for i in ids], dtype=bool)
                expected = expected * np.array([class_weights.get(int(i % 2), 1.0) for i in ids])
            assert np.allclose(w[known, 0], expected[known], rtol=1e-6), \
                "w is not the weight of the entries the rows carry"
    else:
        assert len(parts) == (2 if targets else 1), f"batches of {len(parts)} arrays without weights"


def delivered_indices(split, loader, kwargs, start_phase):
    """One epoch of ``split``: (idx values as int64, rows per batch, len(as_numpy()))."""
    try:
        batches = split.as_numpy()
        count = len(batches)
        names = list(split.train_columns)
        column = names.index("idx")
        shift, scale = 0.0, 1.0
        if kwargs.get("normalize") is not None:
            norm = loader.normalization
            element = list(norm.columns).index("idx")
            shift, scale = norm.shift[element], norm.scale[element]
        targets, weights = list(split.target_columns), split.weights_column
        iterator = iter(batches)
        first = next(iterator, None)
    except Exception as error:
        raise Raised(start_phase, error) from error
    values, rows = [], []
    batch = first
    while batch is not None:
        parts = [np.asarray(a) for a in (batch if isinstance(batch, tuple) else (batch,))]
        x = parts[0]
        assert x.ndim == 2 and x.shape[1] == len(names), f"x has shape {x.shape} for features {names}"
        raw = x[:, column].astype(np.float64) / scale + shift
        exact = np.rint(raw)
        # 1e-3: normalised float32 values carry ~1e-5 of rounding once scaled back.
        assert np.all(np.abs(raw - exact) < 1e-3), f"idx values are not whole numbers: {raw[:5]}"
        ids = exact.astype(np.int64)
        check_row_values(kwargs, names, targets, weights, parts, ids)
        values.append(ids)
        rows.append(len(x))
        try:
            batch = next(iterator, None)
        except Exception as error:
            raise Raised("mid_epoch", error) from error
    ids = np.concatenate(values) if values else np.empty(0, np.int64)
    return ids, rows, count


BAD_TEXT = ("=>", "overloaded methods", "could not convert argument", "Template method resolution failed",
            "none of the", "cppyy")


# "std::invalid_argument", "ROOT::ML::RDataLoader<Long64_t, float>", "RVec<float>": a type, no words.
BARE_CXX_TYPE = re.compile(r"^(const\s+)?[A-Za-z_][\w:]*(<.*>)?[\s*&]*$", re.DOTALL)


def check_exception(phase, error):
    """A refused case: a ValueError, TypeError or KeyError, before the first batch, saying what is wrong."""
    message = str(error)
    described = f"{type(error).__name__} at {phase}: {message[:600]}"
    assert isinstance(error, (ValueError, TypeError, KeyError)), f"wrong exception type: {described}"
    assert phase in ("construct", "split", "epoch_start"), f"raised after the first batch: {described}"
    assert len(message.strip()) >= 20, f"message too short to be clear: {described}"
    assert not any(text in message for text in BAD_TEXT), f"a cppyy/C++ dump instead of a message: {described}"
    bare = message.strip().strip("'\"")
    assert not (BARE_CXX_TYPE.match(bare) and ("::" in bare or "<" in bare)), \
        f"a bare C++ type name as the message: {described}"
    assert len(bare.split()) >= 3, f"no sentence in the message: {described}"


def check_data(case, kwargs, loader, splits, resampled):
    expected = set(int(i) for i in expected_indices(case))
    bs = kwargs["batch_size"]
    delivered = []
    for name, split in splits:
        # Only the first split's start may refuse bad input: the second starts after a thread has run.
        phase = "epoch_start" if not delivered else "second_split_start"
        ids, rows, count = delivered_indices(split, loader, kwargs, phase)
        repeats_allowed = resampled and name == "train"
        assert count == len(rows), f"{name}: len(as_numpy()) is {count} but the epoch delivered {len(rows)} batches"
        assert all(0 < r <= bs for r in rows), f"{name}: batch sizes {sorted(set(rows))} with batch_size={bs}"
        assert all(r == bs for r in rows[:-1]), f"{name}: an incomplete batch before the last: {rows}"
        if kwargs["drop_remainder"]:
            assert all(r == bs for r in rows), f"{name}: drop_remainder=True but batch sizes {rows}"
        outside = set(ids.tolist()) - expected
        assert not outside, f"{name}: idx not in the dataset: {sorted(outside)[:10]}"
        if not repeats_allowed:
            unique, counts = np.unique(ids, return_counts=True)
            assert len(unique) == len(ids), f"{name}: idx repeated in one epoch: {unique[counts > 1][:10].tolist()}"
        delivered.append((name, set(ids.tolist()), len(ids)))
    if len(delivered) == 2:
        (_, train, _), (_, val, _) = delivered
        assert not train & val, f"train and validation share idx {sorted(train & val)[:10]}"
    if not kwargs["drop_remainder"] and not resampled:
        union = set().union(*(s for _, s, _ in delivered))
        assert union == expected, (f"train and validation miss {sorted(expected - union)[:10]} "
                                   f"({len(expected - union)} of {len(expected)} entries)")
    if len(splits) == 1 and not resampled:
        assert loader.num_entries == len(expected), f"num_entries {loader.num_entries} != {len(expected)} entries"
    if not resampled:
        for (name, split), (_, _, n) in zip(splits, delivered):
            whole = split.num_entries // bs * bs if kwargs["drop_remainder"] else split.num_entries
            assert n == whole, f"{name}: {n} entries delivered of num_entries={split.num_entries}"
    if len(splits) == 2 and not resampled:
        train_entries, val_entries = splits[0][1].num_entries, splits[1][1].num_entries
        assert train_entries + val_entries == len(expected), \
            f"num_entries {train_entries} + {val_entries} != {len(expected)} entries"
        # The documented rule: round(test_size * N) entries validate, half away from zero (C++ llround).
        assert val_entries == int(case["test_size"] * len(expected) + 0.5), \
            f"validation holds {val_entries} of {len(expected)} entries with test_size={case['test_size']}"
    return {name: n for name, _, n in delivered}


def run_case(case):
    kwargs = {k: case[k] for k in LOADER_KEYS if k in case}
    rdataframes = frames(case)  # the test's own setup: an error here is no refusal by the loader
    loader = None
    try:
        try:
            loader = ROOT.ML.RDataLoader(rdataframes, **kwargs)
        except Exception as error:
            raise Raised("construct", error) from error
        if case["test_size"] is not None:
            try:
                splits = list(zip(("train", "validation"), loader.train_test_split(case["test_size"])))
            except Exception as error:
                raise Raised("split", error) from error
        else:
            splits = [("train", loader)]
        resampled = kwargs.get("sampling_type") in ("undersampling", "oversampling")
        return check_data(case, kwargs, loader, splits, resampled)
    finally:
        if loader is not None:
            loader.close()


STARTED = [0]


@settings(max_examples=CONFIG["max_examples"], deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck), print_blob=False)
@given(case=cases())
def test_fuzz(case):
    STARTED[0] += 1
    emit("start", n=STARTED[0], case=case)
    started = time.perf_counter()
    faulthandler.dump_traceback_later(CONFIG["case_timeout"], exit=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                entries = run_case(case)
            except Raised as raised:
                emit("raised", n=STARTED[0], seconds=round(time.perf_counter() - started, 2), phase=raised.phase,
                     type=type(raised.error).__name__, message=str(raised.error)[:300])
                try:
                    check_exception(raised.phase, raised.error)
                except AssertionError as failure:
                    emit("fail", n=STARTED[0], why=str(failure))
                    raise failure from raised.error
                return
            except AssertionError as failure:
                emit("fail", n=STARTED[0], why=str(failure))
                raise
            emit("ok", n=STARTED[0], seconds=round(time.perf_counter() - started, 2), entries=entries)
    finally:
        faulthandler.cancel_dump_traceback_later()


try:
    test_fuzz()
except BaseException as error:  # noqa: BLE001 -- everything hypothesis reports, as text
    emit("verdict", ok=False, examples=STARTED[0],
         report="".join(traceback.format_exception(type(error), error, error.__traceback__))[-20000:])
    sys.exit(1)
emit("verdict", ok=True, examples=STARTED[0], package=rdataloader.__file__)
'''


def _events(stdout: str) -> list[dict]:
    return [json.loads(line[len("FUZZ "):]) for line in stdout.splitlines() if line.startswith("FUZZ ")]


def test_random_options_never_crash_hang_or_lose_entries(data_dir, tmp_path):
    files = [write_tree(data_dir / "fuzz_a.root", FILE_A[0], first_index=FILE_A[1], cluster=FILE_A[2]),
             write_tree(data_dir / "fuzz_b.root", FILE_B[0], first_index=FILE_B[1], cluster=FILE_B[2])]
    config = {"files": files, "layout": [FILE_A, FILE_B], "max_examples": MAX_EXAMPLES,
              "case_timeout": CASE_TIMEOUT_S, "shrink_seconds": SHRINK_S}
    # The child imports the package this process imported (PYTHONPATH=python is relative to the working
    # directory), and shuffle="global" keeps its piles in tmp_path.
    package_root = str(Path(rdataloader.__file__).resolve().parents[1])
    paths = [package_root] + [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, TMPDIR=str(tmp_path), PYTHONPATH=os.pathsep.join(paths))
    try:
        result = subprocess.run([sys.executable, "-c", WORKER, json.dumps(config)], capture_output=True, text=True,
                                timeout=CHILD_TIMEOUT_S, env=env)
        stdout, stderr, returncode = result.stdout, result.stderr, result.returncode
    except subprocess.TimeoutExpired as expired:
        def text(data):
            return data.decode(errors="replace") if isinstance(data, bytes) else data or ""

        stdout, stderr, returncode = text(expired.stdout), text(expired.stderr), None

    events = _events(stdout)
    starts = [e for e in events if e["kind"] == "start"]
    verdict = next((e for e in events if e["kind"] == "verdict"), None)
    last = json.dumps(starts[-1]["case"]) if starts else "(none started)"
    if returncode is None:
        pytest.fail(f"the fuzz child hung: no verdict within {CHILD_TIMEOUT_S} s; last case started (#{len(starts)}): "
                    f"{last}\nstderr:\n{stderr[-4000:]}", pytrace=False)
    if verdict is None:
        hung = "Timeout (" in stderr
        what = f"hung for over {CASE_TIMEOUT_S} s" if hung else f"died (exit status {returncode})"
        pytest.fail(f"the fuzz child {what} in case #{len(starts)}: {last}\nstderr:\n{stderr[-6000:]}", pytrace=False)
    if not verdict["ok"]:
        failures = [e for e in events if e["kind"] == "fail"]
        pytest.fail(f"fuzzing found a failure ({len(failures)} failing runs while shrinking); last failure: "
                    f"{failures[-1]['why'] if failures else '?'}\nhypothesis:\n{verdict['report']}", pytrace=False)
    assert verdict["package"] == rdataloader.__file__, "the child imported another rdataloader"
    assert verdict["examples"] >= MAX_EXAMPLES // 2, verdict
    # The case space must keep exercising both sides: data delivered and input refused.
    kinds = {e["kind"] for e in events}
    assert {"ok", "raised"} <= kinds, kinds
