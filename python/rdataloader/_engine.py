"""One C++ engine shared by the splits of a loader: options, layout, epochs and their statistics."""

from __future__ import annotations

import atexit
import os
import threading
import time
import warnings
import weakref
from typing import Iterator, Sequence

import numpy as np

from . import _cxx
from ._connect.numpy import block_arrays
from ._errors import translate_cxx_error
from ._layout import Block, CollectionBlock, Layout
from ._normalization import Normalization, element_methods
from ._progress import Progress
from ._reweighting import Reweighting
from ._options import checked_options
from ._spec import LoaderSpec, SplitSpec

_live_engines: "weakref.WeakSet[Engine]" = weakref.WeakSet()
#: Above this R (of the label mix or of a feature) a shuffled epoch is reported as poorly mixed: a perfect
#: shuffle gives about 1 whatever the batch size, batches in the order of a sorted column sqrt(batch_size).
_UNMIXED_R = 2.0
#: Milliseconds the consumer waits for a batch before Python looks at its signals (Ctrl-C) again.
_SIGNAL_CHECK_MS = 100
#: Batches of an epoch on which its mixing is measured at most (see _Mixing).
_MIX_SAMPLES = 256


@atexit.register
def _stop_all() -> None:
    # The loading threads must be joined before ROOT tears down, or interpreter exit could hang.
    for engine in list(_live_engines):
        engine.close()
        engine.finish_iterations()


class EpochSuperseded(RuntimeError):
    """An iteration was abandoned because a state was loaded into its loader, or its seed, epoch or worker set."""


class _Position:
    """An epoch of a split and the batches it has delivered: the running epoch, or a saved one to resume."""

    def __init__(self, split: int, batches: int) -> None:
        self.split = split
        self.batches = batches


class Engine:
    """Builds ``ROOT::ML::RDataLoader<...>`` for a validated spec and runs its epochs."""

    def __init__(self, spec: LoaderSpec, split: SplitSpec) -> None:
        self.spec = spec
        self.split = split
        ml = _cxx.cxx_namespace()
        options = checked_options(spec, split)
        # Where the passes over the data report how far they are, for the progress display.
        import cppyy

        self._progress = options.fProgress = cppyy.gbl.std.make_shared[ml.RProgress]()
        cxx_types = [t.cxx for t in spec.engine_types]
        builds = [spec.nodes, *spec.replicas]
        self._cxx = _cxx.make_engine(builds, spec.engine_columns, cxx_types, options, spec.progress)
        self._library = _cxx.engine_library(cxx_types)
        self._splits = (ml.ESplit.kTrain, ml.ESplit.kValidation)
        self.layout = self._make_layout(ml)
        self.normalization = self._normalize(spec.normalize)
        self.class_weights = (
            {int(label): float(w) for label, w in self._cxx.GetClassWeights()} if spec.class_weights is not None else None
        )
        self.reweighting = self._reweighting()
        self._lock = threading.Lock()
        self._active: dict[int, _Position] = {}  # per split: its last iteration started, while it runs
        self._resume: dict[int, _Position] = {}  # per split: the saved epoch its next iteration resumes
        self._stats: dict[int, dict] = {}
        # Iterations not yet finished, for finish_iterations().
        self._iterations: weakref.WeakSet[Iterator] = weakref.WeakSet()
        self._closed = False
        self._generation = 0  # of the C++ epochs: advanced when they are all stopped
        self._process = os.getpid()
        self._worker: tuple[int, int] | None = None
        self._warned_unmixed = False
        _live_engines.add(self)

    def _make_layout(self, ml) -> Layout:
        spec = self.spec
        cxx_layout = self._cxx.GetLayout()
        blocks = []
        for name, cxx_block, columns in (
            ("features", ml.EBlock.kFeatures, spec.features),
            ("targets", ml.EBlock.kTargets, spec.targets),
            ("weights", ml.EBlock.kWeights, [spec.weights] if spec.weights else []),
        ):
            cxx = cxx_layout[int(cxx_block)]
            if int(cxx.fWidth) == 0 and name != "features":
                continue
            dtype = np.dtype(spec.dtype(columns[0])) if columns else np.dtype("float32")
            blocks.append(Block(name, cxx_block, int(cxx.fWidth), int(cxx.fRank), dtype, tuple(columns)))
        collections = tuple(
            CollectionBlock(c.name, i, c.fields, c.max_len, np.dtype(c.dtype), c.packed, c.index_key)
            for i, c in enumerate(spec.collections)
        )
        return Layout(tuple(blocks), collections)

    def _normalize(self, normalize) -> Normalization | None:
        """Fit (on the training split only) or take the normalisation, and hand it to the engine."""
        if normalize is None:
            return None
        features = self.spec.unpacked(self.layout.blocks[0].columns)
        flat = self.spec.flat_names(features)
        if isinstance(normalize, Normalization):
            if tuple(flat) != normalize.columns:
                raise ValueError(
                    f"normalize: the saved normalisation is for features {list(normalize.columns)}, "
                    f"but this loader's features are {flat}"
                )
            fitted = normalize
        else:
            try:
                with _cxx.reporting(self._progress, self.spec.progress):
                    statistics = self._cxx.ComputeFeatureStatistics(self._splits[0])
            except Exception as error:
                raise translate_cxx_error(error) from error
            fitted = Normalization.fit(flat, element_methods(normalize, features, self.spec.flat_names), statistics)
        try:
            self._cxx.SetFeatureTransform(list(fitted.shift), list(fitted.scale))
        except Exception as error:
            raise translate_cxx_error(error) from error
        return fitted

    def _reweighting(self) -> Reweighting | None:
        reweight = self.spec.reweight
        if reweight is None:
            return None
        weights = {int(label): tuple(float(w) for w in per_bin) for label, per_bin in self._cxx.GetReweighting()}
        return Reweighting(reweight.columns, reweight.edges, reweight.reference, weights)

    def resampled_classes(self, split: int) -> dict[int, tuple[int, int]]:
        """label (or dataframe) -> (entries in ``split``, entries delivered per epoch), when resampling."""
        return {int(label): (int(n.first), int(n.second))
                for label, n in self._cxx.GetResampledClasses(self._splits[split])}

    def num_entries(self, split: int) -> int:
        return int(self._cxx.GetNumEntries(self._splits[split]))

    def num_batches(self, split: int) -> int:
        return int(self._cxx.GetNumBatches(self._splits[split]))

    def last_batch_size(self, split: int) -> int:
        return int(self._cxx.GetLastBatchSize(self._splits[split]))

    @property
    def batches_in_memory(self) -> int:
        """The shuffle window in batches, as given or as C++ chose it (``load_eager`` aside)."""
        return int(self._cxx.GetOptions().fBatchesInMemory)

    def window_batches(self, split: int) -> int:
        return int(self._cxx.GetWindowBatches(self._splits[split]))

    def stats(self, split: int) -> dict:
        return dict(self._stats.get(split, {}))

    def num_epochs(self, split: int) -> int:
        """Epochs of ``split`` started so far (including a running one, or one saved to resume)."""
        return int(self._cxx.GetNumEpochs(self._splits[split]))

    def read_paths(self) -> dict[str, str | list[str]]:
        """How each column is read: its path in every dataframe, or one path when they all share it."""
        paths = {}
        for c, column in enumerate(self.spec.engine_columns):
            per_frame = [str(self._cxx.GetReadPath(d, c)) for d in range(len(self.spec.nodes))]
            paths[column] = per_frame[0] if len(set(per_frame)) == 1 else per_frame
        return paths

    def dataset_digest(self) -> int:
        return int(self._cxx.GetDatasetDigest())

    def position(self) -> tuple[int, int] | None:
        """``(split, batches delivered)`` of the running epoch, or of the saved epoch still to resume: of the
        training split if it has one (a validation run in the middle of its epoch is left out), else of
        validation."""
        with self._lock:
            for split in range(len(self._splits)):
                current = self._active.get(split) or self._resume.get(split)
                if current is not None:
                    return current.split, current.batches
            return None

    def compile_epochs(self) -> None:
        """Have cling compile the epoch code in this process now, where no compiled library runs the engine:
        the worker processes torch's DataLoader forks for every epoch then inherit it, instead of each
        compiling it again (seconds per worker and epoch)."""
        if self._library is not None:
            return
        import cppyy

        # cling compiles a function, with everything it instantiates, at its first call; asked to skip more
        # batches than the split has, StartEpoch throws before it starts anything.
        try:
            self._cxx.StartEpoch(self._splits[0], 2**63)
        except cppyy.gbl.std.invalid_argument:
            pass

    def join_workers(self, worker: int, workers: int, epoch_seed: int | None) -> None:
        """Make this engine, forked into a worker process of torch's DataLoader, read its share of every epoch.

        A forked engine starts from the parent's epoch count, which does not advance while workers read.
        Unless the parent set the epoch (``epoch_seed`` None), the epoch numbers are drawn from
        ``epoch_seed``, which torch draws anew for each iteration of its DataLoader and gives every worker.
        """
        if self._worker == (worker, workers):
            return
        if os.getpid() == self._process:
            raise RuntimeError("join_workers is for a worker process forked from the one that built the loader")
        if self.spec.global_shuffle:
            raise ValueError("shuffle='global' reads its pile cache in one process: use num_workers=0 in torch's "
                             "DataLoader (the loader reads on read_threads threads of its own)")
        try:
            self._cxx.SetWorker(worker, workers)
        except Exception as error:
            raise translate_cxx_error(error) from error
        if epoch_seed is not None:
            for split in self._splits:
                self._cxx.SetNumEpochs(split, epoch_seed % 2**63)
        self._worker = (worker, workers)

    def resumes(self, split: int) -> bool:
        """Whether the next iteration of ``split`` resumes a saved epoch in its middle."""
        with self._lock:
            return split in self._resume

    def set_epoch(self, split: int, epoch: int) -> None:
        """The next iteration of ``split`` runs epoch number ``epoch``."""
        self._abandon()
        self._cxx.SetNumEpochs(self._splits[split], epoch)

    def reseed(self, seed: int) -> None:
        """Adopt ``seed``: the train/validation split is drawn again from it."""
        self._abandon()
        self._cxx.SetSeed(seed)

    def restore(self, epochs: list[int], position: tuple[int, int] | None) -> None:
        """Set the epoch counters; with ``position``, the next iteration of its split restarts the last
        epoch started and skips the batches already delivered."""
        self._abandon()
        with self._lock:
            self._resume = {} if position is None else {position[0]: _Position(*position)}
        for split, count in enumerate(epochs):
            self._cxx.SetNumEpochs(self._splits[split], count)

    def _abandon(self) -> None:
        # Iterations in progress must not continue epochs that are no longer this engine's: each checks the
        # generation it started in.
        with self._lock:
            self._active.clear()
            self._generation += 1
        self._cxx.StopEpochs()

    def epoch(self, split: int) -> Iterator[list]:
        """One epoch of ``split`` as lists of arrays (features, then targets and weights if any; with
        collections the features are a dictionary of arrays). Any number of epochs of either split may be
        iterated at once, each independent of the others."""
        iteration = self._epoch(split)
        self._iterations.add(iteration)
        return iteration

    def _epoch(self, split: int) -> Iterator[list]:
        if self._closed:
            raise RuntimeError("this RDataLoader was closed; create a new one to iterate again")
        token = _Position(split, 0)
        with self._lock:
            self._active[split] = token
            generation = self._generation
            # A saved epoch of the other split waits for that split's next iteration: the two run independently.
            resume = self._resume.pop(split, None)
        if resume is not None:
            token.batches = resume.batches
            self._cxx.SetNumEpochs(self._splits[split], self.num_epochs(split) - 1)
        skip = token.batches
        expected = self.num_batches(split) - skip
        if self._cxx.HasDamagedPiles(self._splits[split]):
            directory = self._stats.get(split, {}).get("cache_dir")
            warnings.warn(
                f"RDataLoader: the shuffle cache {directory} was deleted or changed since it was written; this epoch "
                "builds it again",
                RuntimeWarning,
                stacklevel=3,
            )
        stats = {"split": ("train", "validation")[split], "entries": 0, "batches": 0, "complete": expected == 0,
                 "engine_library": self._library, "header_module": _cxx.header_module(),
                 "read_paths": self.read_paths()}
        self._stats[split] = stats
        monitor = _Mixing(self.spec.batch_size, max(expected, 1), self._feature_names(), self._has_single_target())
        source = self._engine_batches(split, skip, stats)
        started = time.perf_counter()
        waiting = 0.0
        try:
            while True:
                if self._generation != generation:
                    raise EpochSuperseded(
                        "this iteration was abandoned because a state was loaded into its loader, or its seed, "
                        "epoch or worker was set; start a new iteration"
                    )
                before = time.perf_counter()
                rows_and_arrays = next(source, None)
                waiting += time.perf_counter() - before
                if rows_and_arrays is None:
                    break
                rows, arrays = rows_and_arrays
                if stats["batches"] == 0:
                    stats["seconds_to_first_batch"] = time.perf_counter() - started
                stats["batches"] += 1
                stats["entries"] += rows
                # Consumers that stop after len() batches (Lightning, Keras) never ask past the end.
                stats["complete"] = stats["batches"] == expected
                monitor.add(arrays)
                token.batches += 1
                yield arrays
        finally:
            # Closing the source first lets it see whether this iteration still owns the C++ epoch.
            source.close()
            stats["seconds"] = time.perf_counter() - started
            stats["seconds_waiting"] = waiting
            with self._lock:
                if self._active.get(split) is token:
                    del self._active[split]
            stats["label_mix_r"] = monitor.label_ratio()
            features = monitor.feature_ratios()
            stats["feature_mix_r"] = max(features.values()) if features else None
            stats["least_mixed_feature"] = max(features, key=features.get) if features else None
            self._warn_if_unmixed(stats)

    def _warn_if_unmixed(self, stats: dict) -> None:
        """Once per loader: a whole shuffled epoch whose batches mixed a 0/1 target or a feature poorly."""
        windowed = self.spec.shuffle and not self.spec.global_shuffle and not self.spec.load_eager
        if not windowed or not stats["complete"] or self._warned_unmixed:
            return
        label, feature = stats.get("label_mix_r"), stats.get("feature_mix_r")
        worst = f"{np.sqrt(self.spec.batch_size):.0f}"
        if label is not None and label > _UNMIXED_R:
            what = f"mixed the classes poorly (label-mix R = {label:.1f}; 1 is a perfect shuffle, {worst} one class"
        elif feature is not None and feature > _UNMIXED_R:
            what = (f"follow the order of feature {stats['least_mixed_feature']!r} (R = {feature:.1f}; 1 is a perfect "
                    f"shuffle, {worst} batches in the order of a sorted column")
        else:
            return
        self._warned_unmixed = True
        warnings.warn(
            f"RDataLoader: the batches of this {stats['split']} epoch {what}): its shuffle window of "
            f"{self.window_batches(0)} batches holds too few distant parts of the inputs. "
            "Use shuffle='global' (the exact shuffle) or a larger batches_in_memory",
            RuntimeWarning,
            stacklevel=3,
        )

    def _feature_names(self) -> list[str]:
        """The name of every column of ``x`` (an element of a vector column counts as one)."""
        if self.spec.collections:
            return []
        return self.spec.flat_names(self.spec.unpacked(self.layout.blocks[0].columns))

    def _engine_batches(self, split: int, skip: int, stats: dict) -> Iterator[tuple[int, list]]:
        """The batches of a C++ epoch, as ``(rows, arrays)``; its statistics go into ``stats`` at the end."""
        try:
            run = self._cxx.StartEpoch(self._splits[split], skip)
        except Exception as error:
            raise translate_cxx_error(error) from error
        # load_eager, and the global shuffle while it writes its piles, read this process's whole share of the split
        # before the first batch: shown as it goes, once the loading thread has begun that pass.
        what = ("shuffle='global': copying the {} split to its piles" if self.spec.global_shuffle else
                "load_eager: reading the {} split into memory").format(("training", "validation")[split])
        shown = self.spec.global_shuffle or self.spec.load_eager
        loading = None
        try:
            while True:
                # Waits in slices, each ending in Python, where a pending Ctrl-C raises KeyboardInterrupt: a
                # batch can take minutes (a whole shuffle window of expensive Defines).
                ready = False
                while not ready:
                    ready = run.WaitForNext(_SIGNAL_CHECK_MS)
                    progress = run.GetProgress()
                    if shown and loading is None and progress.GetNumPasses() > 0:
                        loading = Progress(what, int(progress.GetTotal()), self.spec.progress, unit="entry")
                    if loading is not None:
                        loading.advance_to(int(progress.GetDone()))
                shown = False
                if loading is not None:
                    loading.close()
                    loading = None
                try:
                    batch = run.Next()
                except Exception as error:
                    raise translate_cxx_error(error, self.spec.nodes) from error
                if not batch:
                    return
                yield int(batch.GetNumRows()), block_arrays(batch, self.layout)
        finally:
            if loading is not None:
                loading.close()
            run.Stop()
            cxx_stats = run.GetStats()
            stats["bytes_read"] = int(cxx_stats.fBytesRead)
            stats["entries_from_sources"] = int(cxx_stats.fEntriesFromSources)
            stats["streams"] = int(cxx_stats.fStreams)
            if self.spec.collections:
                truncated = list(cxx_stats.fTruncatedObjects) or [0] * len(self.spec.collections)
                stats["truncated_objects"] = {c.name: int(n) for c, n in zip(self.spec.collections, truncated)}
            if self.spec.global_shuffle:
                stats["cache_dir"] = str(cxx_stats.fCacheDirectory)
                stats["cache_bytes"] = int(cxx_stats.fCacheBytes)
                if cxx_stats.fSecondsBuildingCache > 0:
                    stats["seconds_building_cache"] = float(cxx_stats.fSecondsBuildingCache)

    def _has_single_target(self) -> bool:
        return len(self.spec.targets) == 1 and self.spec.targets[0] not in self.spec.max_vec_sizes

    def finish_iterations(self) -> None:
        """Close every iteration not yet finished, as the interpreter exits: their clean-up then runs while
        imports still work, not in the interpreter's teardown, where it fails with a traceback. Only at exit:
        an iteration closed under its consumer would end as a silently short epoch."""
        for iteration in list(self._iterations):
            try:
                iteration.close()
            except ValueError:  # running in another thread, whose epoch close() stopped
                pass

    def close(self) -> None:
        """Stop the loading thread; the engine cannot be iterated afterwards."""
        if not self._closed:
            self._closed = True
            self._abandon()
            self._cxx.ClearPiles()


class _Mixing:
    """How well an epoch's batches mix, as R = the standard deviation over batches of a batch's mean,
    divided by what a perfect shuffle gives, sqrt(variance / batch_size): about 1 for a perfect shuffle,
    sqrt(batch_size) when the batches follow the order of a sorted column. Measured for a 0/1 target (the
    label mix) and for every feature, on up to ``_MIX_SAMPLES`` evenly spaced full batches, so that it costs
    next to nothing: batches can hold both classes in their proportions (label R about 1) and still each
    hold a narrow slice of a feature the files are sorted by (that feature's R large), which trains a
    model as badly as single-class batches do."""

    def __init__(self, batch_size: int, num_batches: int, features: Sequence[str], label: bool) -> None:
        self._batch_size = batch_size
        self._every = max(1, num_batches // _MIX_SAMPLES)
        self._features = list(features)
        self._label = label
        self._batches = 0
        self._label_means: list[float] = []
        self._binary = True
        self._moments: list[tuple[np.ndarray, np.ndarray]] = []  # per sampled batch: feature means, mean squares

    def add(self, arrays: list) -> None:
        self._batches += 1
        if (self._batches - 1) % self._every:
            return
        x = arrays[0]
        if isinstance(x, np.ndarray) and x.ndim == 2 and len(x) == self._batch_size \
                and x.shape[1] == len(self._features):
            values = x.astype(np.float64)
            self._moments.append((values.mean(axis=0), (values * values).mean(axis=0)))
        if self._label:
            labels = np.asarray(arrays[1])
            if len(labels) != self._batch_size:
                return
            if self._binary and not np.all((labels == 0) | (labels == 1)):
                self._binary = False
            self._label_means.append(float(labels.mean()))

    def label_ratio(self) -> float | None:
        if not self._label or not self._binary or len(self._label_means) < 2:
            return None
        means = np.asarray(self._label_means)
        p = means.mean()
        if p <= 0 or p >= 1:
            return None
        return float(means.std() / np.sqrt(p * (1 - p) / self._batch_size))

    def feature_ratios(self) -> dict[str, float]:
        """R of every feature with a finite, non-zero spread."""
        if len(self._moments) < 2:
            return {}
        means = np.stack([m for m, _ in self._moments])
        squares = np.stack([q for _, q in self._moments])
        centre = means.mean(axis=0)
        variance = squares.mean(axis=0) - centre**2
        # A constant feature's variance is rounding error, and says nothing about the order.
        spread = np.isfinite(variance) & (variance > 1e-9 * (centre**2 + 1e-30))
        ratios = means.std(axis=0)[spread] / np.sqrt(variance[spread] / self._batch_size)
        names = [name for name, keep in zip(self._features, spread) if keep]
        return {name: float(r) for name, r in zip(names, ratios)}
