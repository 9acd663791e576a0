#!/usr/bin/env python3
"""Mutation check: do the tests catch a broken guarantee?

Each mutant below breaks one promise of the README with a single text replacement in the C++ engine
(``inc/ROOT/ML``) or the Python package (``python/rdataloader``), and names the few fast tests that must
then fail. For every mutant this script copies the repository (tracked files and untracked files git does
not ignore, nothing from build directories) into a temporary directory, applies the replacement there,
runs only the named tests in one pytest process, and records the result:

- ``killed``: a named test failed, as it must (or the tests crashed, or ran past TIMEOUT_S);
- ``survived``: the tests passed, so they do not guard the promise;
- ``stale``: the ``old`` text no longer occurs exactly once, so the mutant must be updated to the code;
- ``error``: pytest could not run the tests (a node id that no longer exists, a collection error).

It prints a Markdown table and exits non-zero unless every mutant was killed. ``--baseline`` runs the same
tests on an unmutated copy instead, to show that a kill is the mutant's doing and not a failing test.

    nice -n 19 python3 test/mutation.py                   # all mutants, one at a time
    nice -n 19 python3 test/mutation.py --only single-stream sattolo-shuffle
    nice -n 19 python3 test/mutation.py --list

The tests run with ``PYTHONPATH=<copy>/python`` (so cling compiles the copy's headers) and with
``RDATALOADER_ENGINE_CACHE=`` empty, so that no engine compiled from other headers is loaded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
#: A mutant whose tests run longer than this is counted as killed: a hang fails a test suite too.
TIMEOUT_S = 240
#: Lines of pytest's output shown for a mutant whose tests could not run.
OUTPUT_LINES = 25
TESTS = "test/python/"


@dataclass(frozen=True)
class Mutant:
    """One broken guarantee: replace ``old`` (which must occur exactly once) by ``new`` in ``path``."""

    name: str
    guarantee: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    result: str
    seconds: float
    detail: str = ""


MUTANTS = (
    # C++ engine -------------------------------------------------------------------------------------
    Mutant(
        "sattolo-shuffle",
        "every window's permutation of its slots is uniformly random (Fisher-Yates; Sattolo's variant draws "
        "cyclic permutations only)",
        "inc/ROOT/ML/Detail/RRandom.hxx",
        "std::swap(first[i - 1], first[Below(i)]);",
        "std::swap(first[i - 1], first[Below(i - 1)]);",
        (TESTS + "test_guarantees.py::test_the_shuffle_window_draws_uniform_permutations",),
    ),
    Mutant(
        "split-draw-in-file-order",
        "the validation units are drawn by the seed from clusters all over each dataframe",
        "inc/ROOT/ML/Detail/RReadingPlan.hxx",
        "RRandom(RRandom::Derive(seed, {0x5b117})).Shuffle(order.begin(), order.end());",
        "static_cast<void>(seed);",
        (TESTS + "test_guarantees.py::test_the_drawn_split_moves_with_the_seed_across_all_clusters",),
    ),
    Mutant(
        "split-overlap",
        "train and validation are disjoint (a unit cut between them gives validation its last entries)",
        "inc/ROOT/ML/Detail/RReadingPlan.hxx",
        "validation.push_back({block.fUnit, block.fSkip + block.fTake, take});",
        "validation.push_back({block.fUnit, block.fSkip, take});",
        (TESTS + "test_epoch.py::test_filtered_split_covers_passing_entries_once_without_leakage",),
    ),
    Mutant(
        "count-check-off",
        "a dataset that delivers fewer entries than were counted raises RuntimeError ('did the input files "
        "change?') instead of a short epoch",
        "inc/ROOT/ML/Detail/REpochProducer.hxx",
        "if (read == 0)",
        "if (read == 0 && false)",
        (TESTS + "test_guarantees.py::test_a_dataset_that_changes_after_counting_raises_instead_of_a_wrong_epoch"
         "[event_loop-shrinks]",),
    ),
    Mutant(
        "surplus-cut-silently",
        "a filter that passes more entries than were counted raises RuntimeError ('did the input files "
        "change?') instead of an epoch cut to the count",
        "inc/ROOT/ML/Detail/REventLoopSource.hxx",
        "if ((narrowed || last) && collect.GetNumSeen() > expected)",
        "if (false)",
        (TESTS + "test_guarantees.py::test_a_dataset_that_changes_after_counting_raises_instead_of_a_wrong_epoch"
         "[event_loop-grows]",),
    ),
    Mutant(
        "mixed-read-unchecked",
        "where the event loop computes Defines beside columns read from the files, both halves must deliver the "
        "same entries, or the epoch raises ('did the input files change?') instead of misaligned rows",
        "inc/ROOT/ML/Detail/RMixedSource.hxx",
        "if (fLoopRead.fDelivered != planned || fromFiles != planned)",
        "if (false)",
        (TESTS + "test_guarantees.py::test_a_dataset_that_changes_after_counting_raises_instead_of_a_wrong_epoch"
         "[define_beside_baskets-shrinks]",),
    ),
    Mutant(
        "mixed-columns-from-the-loop",
        "the stored columns beside Defines are delivered from the files, not as the event loop's placeholders",
        "inc/ROOT/ML/Detail/RMixedSource.hxx",
        "fFileColumn.push_back(fromLoop[c] ? kFromLoop : file++);",
        "fFileColumn.push_back(kFromLoop);",
        (TESTS + "test_tree_source.py::test_defines_come_from_the_event_loop_and_branches_from_baskets_with_the_same_"
         "batches",),
    ),
    Mutant(
        "redefine-read-from-baskets",
        "a Redefined branch is computed by the event loop, never read raw from its baskets",
        "inc/ROOT/ML/Detail/RDataFrameSources.hxx",
        "fromLoop.push_back(std::find(defined.begin(), defined.end(), column) != defined.end());",
        "fromLoop.push_back(false);",
        (TESTS + "test_tree_source.py::test_a_redefined_branch_is_computed_not_read_from_its_basket",),
    ),
    Mutant(
        "one-cluster-one-stream",
        "a file of one cluster is cut into streams too, so that a small window mixes it when it is sorted",
        "inc/ROOT/ML/RDataLoader.hxx",
        "if (!IsShuffled() || IsResampled(split) || fSources->NeedsEventLoop())",
        "if (!IsShuffled() || IsResampled(split) || slices.size() < 2 || fSources->NeedsEventLoop())",
        (TESTS + "test_shuffle.py::test_a_small_window_mixes_a_sorted_file_of_one_cluster",),
    ),
    Mutant(
        "empty-split-no-stream",
        "an epoch is read as at least one stream, even when nothing of its split passes the filters",
        "inc/ROOT/ML/RDataLoader.hxx",
        "return std::clamp<std::uint64_t>(windows, 1, affordable);",
        "return std::min<std::uint64_t>(affordable, windows);",
        (TESTS + "test_shuffle.py::test_a_split_that_nothing_passes_is_one_empty_stream",),
    ),
    Mutant(
        "passes-report-nothing",
        "the constructor's passes over the training split report the entries they read to the progress display",
        "inc/ROOT/ML/RDataLoader.hxx",
        "         progress.Advance(read);\n",
        "",
        (TESTS + "test_progress.py::test_the_passes_before_the_first_batch_report_every_entry_they_read",),
    ),
    Mutant(
        "epoch-code-compiled-in-every-worker",
        "as_torch() compiles the epoch code in the parent, so that torch's workers, forked anew every epoch, inherit it",
        "python/rdataloader/_loader.py",
        "        self._ensure_engine().compile_epochs()\n",
        "        self._ensure_engine()\n",
        (TESTS + "test_torch.py::test_as_torch_compiles_the_epoch_code_for_the_workers_without_starting_an_epoch",),
    ),
    Mutant(
        "pile-rows-in-written-order",
        "the exact shuffle permutes each pile's rows anew every epoch, so that every batch is a uniform sample",
        "inc/ROOT/ML/Detail/RPileShuffle.hxx",
        "         RRandom(RRandom::Derive(seed, {pile})).Shuffle(order.begin(), order.end());\n",
        "",
        (TESTS + "test_global_shuffle.py::test_every_batch_is_a_uniform_sample_of_sorted_files",),
    ),
    Mutant(
        "damaged-piles-reused",
        "piles deleted or changed behind the loader's back are written again, not read",
        "inc/ROOT/ML/Detail/RPileShuffle.hxx",
        "if (cache && cache->IsComplete() && cache->IsIntact())",
        "if (cache && cache->IsComplete())",
        (TESTS + "test_global_shuffle.py::test_a_deleted_cache_is_built_again_with_a_warning",),
    ),
    Mutant(
        "piles-kept-after-close",
        "close() removes the exact shuffle's piles from disk",
        "inc/ROOT/ML/RDataLoader.hxx",
        "      StopEpochs();\n      fPiles.Clear();\n   }",
        "      StopEpochs();\n   }",
        (TESTS + "test_global_shuffle.py::test_cache_lives_in_cache_dir_at_the_reported_size_and_is_removed",),
    ),
    Mutant(
        "eager-global-shuffle-allowed",
        "the rules that combine options are C++'s alone, and Python's errors come from them (RDataLoaderOptions)",
        "inc/ROOT/ML/RDataLoaderOptions.hxx",
        "      if (fLoadEager)\n         check.Fail(\"fLoadEager\",",
        "      if (false)\n         check.Fail(\"fLoadEager\",",
        (TESTS + "test_global_shuffle.py::test_refused_options_name_the_way_out",),
    ),
    Mutant(
        "option-spelled-in-cxx",
        "a Python user's error about options names keywords, not C++ fields",
        "inc/ROOT/ML/RDataLoaderOptions.hxx",
        "         return spelled == fSpelling.end() ? name : spelled->second;",
        "         return name;",
        (TESTS + "test_global_shuffle.py::test_refused_options_name_the_way_out",),
    ),
    Mutant(
        "refusal-not-spelled-again",
        "a Python user's error about options names keywords, not C++ fields",
        "python/rdataloader/_options.py",
        "        return engine.CheckOptions(*arguments, _spelling())",
        "        raise",
        (TESTS + "test_global_shuffle.py::test_refused_options_name_the_way_out",),
    ),
    Mutant(
        "split-drawn-by-whole-units",
        "the validation split of a dataframe of few clusters is drawn from all over it, not from its tail",
        "inc/ROOT/ML/Detail/RReadingPlan.hxx",
        "static constexpr std::uint64_t kSplitBlocks = 32;",
        "static constexpr std::uint64_t kSplitBlocks = 1;",
        (TESTS + "test_shuffle.py::test_the_validation_split_of_a_file_of_one_cluster_is_drawn_from_all_over_it",),
    ),
    Mutant(
        "single-stream",
        "an epoch is read as several streams, so even a window of one batch mixes sorted files",
        "inc/ROOT/ML/Detail/RStreams.hxx",
        "streams = std::max<std::uint64_t>(1, std::min(streams, entries));",
        "streams = 1;",
        (TESTS + "test_shuffle.py::test_a_small_window_mixes_sorted_files_read_as_streams[1]",),
    ),
    Mutant(
        "drop-remainder-ignored",
        "drop_remainder drops the last, incomplete batch of each split",
        "inc/ROOT/ML/Detail/RShuffleBuffer.hxx",
        "fKeptEntries(dropRemainder ? epochEntries / batchSize * batchSize : epochEntries),",
        "fKeptEntries(epochEntries),",
        (TESTS + "test_epoch.py::test_drop_remainder_drops_only_the_last_partial_batch_of_each_split",),
    ),
    Mutant(
        "basket-filter-ignored",
        "entries read from TTree baskets are picked by the passing mask the counting pass recorded",
        "inc/ROOT/ML/Detail/RSource.hxx",
        "      if (unit.fFiltered)\n         for (auto &chunk : fChunks)\n            chunk.Keep(mask, range.fBegin, range.fEnd);\n",
        "",
        (TESTS + "test_epoch.py::test_filtered_split_covers_passing_entries_once_without_leakage",),
    ),
    Mutant(
        "padding-zero",
        "shorter vectors are padded with vec_padding",
        "inc/ROOT/ML/Detail/RColumnWriter.hxx",
        "Store(dst, slot.fPadding, slot);",
        "Store(dst, 0., slot);",
        (TESTS + "test_columns.py::test_vector_columns_are_padded_and_truncated",),
    ),
    Mutant(
        "basket-normalisation-unscaled",
        "normalize='standard' delivers (x - mean) / std on the basket path too",
        "inc/ROOT/ML/Detail/RColumnWriter.hxx",
        "static_cast<Dst>((static_cast<double>(v) - shift) * scale)",
        "static_cast<Dst>(static_cast<double>(v) - shift)",
        (TESTS + "test_guarantees.py::test_standard_normalisation_is_numpys_on_every_reading_path[baskets]",),
    ),
    Mutant(
        "batch-queue-unbounded",
        "the loader holds about twice batches_in_memory however large the dataset: the queue of finished batches "
        "holds at most a window, and the loading thread waits when it is full",
        "inc/ROOT/ML/RBatchQueue.hxx",
        "explicit RBatchQueue(std::size_t capacity) : fCapacity(capacity > 0 ? capacity : 1) {}",
        "explicit RBatchQueue(std::size_t capacity) : fCapacity(static_cast<std::size_t>(-1)) { (void)capacity; }",
        (TESTS + "test_guarantees.py::test_memory_stays_within_twice_the_window_on_a_dataset_many_times_larger",),
    ),
    Mutant(
        "batch-queue-two-windows",
        "the loader holds about twice batches_in_memory (the window being filled plus a window of finished "
        "batches), not three times",
        "inc/ROOT/ML/RDataLoader.hxx",
        "std::make_shared<REpochRun>(split, GetWindowBatches(split))",
        "std::make_shared<REpochRun>(split, 2 * GetWindowBatches(split))",
        (TESTS + "test_guarantees.py::test_memory_stays_within_twice_the_window_on_a_dataset_many_times_larger",),
    ),
    Mutant(
        "class-weights-unchecked",
        "class weights that give no weight to a class of the data raise before any thread starts",
        "inc/ROOT/ML/Detail/RClassWeights.hxx",
        "      if (missing > 0)\n",
        "      if (false)\n",
        (TESTS + "test_class_weights.py::test_a_class_without_a_weight_raises",),
    ),
    Mutant(
        "class-weights-train-only",
        "class weights must also weigh the classes that only the validation split holds",
        "inc/ROOT/ML/Detail/RClassWeights.hxx",
        "      present.insert(validation.begin(), validation.end());\n",
        "",
        (TESTS + "test_guarantees.py::test_a_class_present_only_in_validation_needs_a_weight_too",),
    ),
    Mutant(
        "balanced-class-weights-uniform",
        "balanced class weights are n / (classes x n_class) of the training split",
        "inc/ROOT/ML/Detail/RClassWeights.hxx",
        "weights[label] = static_cast<double>(total) / static_cast<double>(train.size() * n);",
        "weights[label] = static_cast<double>(total) / static_cast<double>(train.size() * train.size());",
        (TESTS + "test_class_weights.py::test_balanced_weights_equalise_the_classes",),
    ),
    Mutant(
        "normalisation-scale-inverted",
        "normalize='standard' divides by the standard deviation of the training split",
        "inc/ROOT/ML/RNormalization.hxx",
        "fitted.Varies(i) ? 1. / fitted.Spread(i) : 1.",
        "fitted.Varies(i) ? fitted.Spread(i) : 1.",
        (TESTS + "test_normalization.py::test_statistics_come_from_the_training_split_only_and_equal_numpys",),
    ),
    Mutant(
        "normalisation-file-rounded",
        "a normalisation saved in C++ reads back exactly, in Python too",
        "inc/ROOT/ML/Detail/RJsonColumns.hxx",
        "number.precision(17);",
        "number.precision(7);",
        (TESTS + "test_normalization.py::test_a_cxx_loader_fits_and_applies_the_normalisation_python_does",),
    ),
    Mutant(
        "test-run-skips-missing-dependencies",
        "the README's test command fails, rather than skips tests, when a test dependency does not import",
        "test/python/conftest.py",
        "    if missing:\n",
        "    if False:\n",
        (TESTS + "test_packaging.py::test_the_full_test_run_fails_instead_of_skipping_when_a_test_dependency_is_missing",),
    ),
    # Python package ---------------------------------------------------------------------------------
    Mutant(
        "torch-copies",
        "torch tensors on the CPU share the C++ batch memory (no copy)",
        "python/rdataloader/_connect/torch.py",
        "map_arrays(torch.from_numpy, a)",
        "map_arrays(lambda array: torch.from_numpy(array.copy()), a)",
        (TESTS + "test_guarantees.py::test_batches_are_views_of_the_cxx_batch_memory[torch]",),
    ),
    Mutant(
        "numpy-copies",
        "NumPy arrays wrap the C++ batch memory (no copy)",
        "python/rdataloader/_connect/numpy.py",
        "return np.asarray(_BatchMemory(batch, address, shape, dtype))",
        "return np.array(_BatchMemory(batch, address, shape, dtype))",
        (TESTS + "test_lifecycle.py::test_batches_handed_out_never_change_and_share_the_batch_memory",
         TESTS + "test_guarantees.py::test_batches_are_views_of_the_cxx_batch_memory[numpy]"),
    ),
    Mutant(
        "resume-from-epoch-start",
        "load_state_dict() resumes after the batches already delivered",
        "python/rdataloader/_state.py",
        "position = (split, batches)",
        "position = (split, 0)",
        (TESTS + "test_distributed.py::test_a_saved_epoch_of_one_split_waits_for_that_split_while_the_other_runs",),
    ),
    Mutant(
        "superseded-iteration-continues",
        "an iteration abandoned by a newer one (or a loaded state) raises EpochSuperseded",
        "python/rdataloader/_engine.py",
        "if self._generation != generation:",
        "if False:",
        (TESTS + "test_distributed.py::test_loading_a_state_abandons_a_suspended_iteration",),
    ),
    Mutant(
        "no-close-matches",
        "an unknown column's error names its close matches",
        "python/rdataloader/_errors.py",
        "close = difflib.get_close_matches(name, candidates, n=3)",
        "close = difflib.get_close_matches(name, candidates, n=3, cutoff=1.0)",
        (TESTS + "test_errors.py::test_unknown_column_lists_close_matches",),
    ),
    Mutant(
        "last-batch-rows-when-dropped",
        "last_batch_no_of_rows gives the rows of the last batch also when drop_remainder drops it (ROOT's meaning)",
        "python/rdataloader/_loader.py",
        "return self.num_entries % self._spec.batch_size",
        "return 0",
        (TESTS + "test_epoch.py::test_len_and_properties_match_the_epoch",),
    ),
    Mutant(
        "batches-in-memory-ignored",
        "batches_in_memory sets the shuffle window, and so the loader's memory (the default, 48 MiB of batches, "
        "only when it is not given)",
        "inc/ROOT/ML/RDataLoader.hxx",
        "   if (fOptions.fBatchesInMemory == 0) {",
        "   {",
        (TESTS + "test_guarantees.py::test_memory_stays_within_twice_the_window_on_a_dataset_many_times_larger",),
    ),
    Mutant(
        "read-error-untyped",
        "a reading error is a ROOT::ML::RReadError that names its dataframe, whose files the Python error lists",
        "inc/ROOT/ML/Detail/REpochProducer.hxx",
        "throw RReadError(dataFrame, ",
        "throw std::runtime_error(",
        (TESTS + "test_lifecycle.py::test_error_in_a_define_surfaces_in_the_consumer_thread",),
    ),
    Mutant(
        "resample-by-dataframe-unshuffled-order",
        "unshuffled resampling by dataframe delivers ROOT's order: the drawn dataframe first, then the other",
        "inc/ROOT/ML/Detail/RResampler.hxx",
        "order.insert(order.end(), kept.begin(), kept.end());",
        "order.insert(order.begin(), kept.begin(), kept.end());",
        (TESTS + "test_compat_root.py::test_undersampling_unshuffled_batches",),
    ),
    Mutant(
        "iterations-left-to-teardown",
        "an iteration still open when the script ends finishes without a traceback",
        "python/rdataloader/_engine.py",
        "        engine.finish_iterations()\n",
        "",
        (TESTS + "test_lifecycle.py::test_an_iteration_left_open_at_exit_ends_without_a_traceback",),
    ),
    Mutant(
        "inspect-one-path-for-all",
        "python -m rdataloader inspect names the reading path a loader over each column takes",
        "python/rdataloader/_inspect.py",
        'if not together.startswith("event loop"):',
        "if together:",
        (TESTS + "test_inspect.py::test_a_tree_reports_its_entries_clusters_types_and_each_columns_reading_path",),
    ),
    Mutant(
        "save-columns-out-of-step",
        "a saved dataset reads back as the batches of the epoch it saved",
        "inc/ROOT/ML/RDatasetWriter.hxx",
        "std::byte *>(starts[c] + r * rowBytes[c])",
        "std::byte *>(starts[c] + r * rowBytes[0])",
        (TESTS + "test_save.py::test_a_saved_epoch_reads_back_as_the_same_batches_on_the_fast_path",),
    ),
    Mutant(
        "save-leaves-partial-file",
        "an interrupted save leaves no file",
        "python/rdataloader/_save.py",
        "            partial.unlink(missing_ok=True)",
        "            pass",
        (TESTS + "test_save.py::test_bad_saves_raise_before_writing_and_an_interrupted_one_leaves_no_file",),
    ),
    Mutant(
        "progress-always-shown",
        "progress=False keeps the long passes quiet",
        "python/rdataloader/_save.py",
        'engine.num_batches(split), spec.progress)',
        'engine.num_batches(split), True)',
        (TESTS + "test_progress.py::test_a_save_shows_a_tqdm_bar_and_nothing_with_progress_false",),
    ),
    Mutant(
        "reweight-binned-by-the-first-column",
        "reweighting gives every class the reference distribution of the chosen columns",
        "inc/ROOT/ML/Detail/RBatchWriter.hxx",
        "classWeights.BinOf([&](std::size_t c) { return ScalarAt(c, values...); })",
        "classWeights.BinOf([&](std::size_t) { return ScalarAt(0, values...); })",
        (TESTS + "test_reweighting.py::test_every_class_takes_the_reference_distribution",),
    ),
    Mutant(
        "reweight-ignores-the-class-share",
        "reweighting gives every class the reference distribution of the chosen columns",
        "inc/ROOT/ML/Detail/RClassWeights.hxx",
        "reference[b] * total / static_cast<double>(perBin[b])",
        "reference[b] * total",
        (TESTS + "test_reweighting.py::test_every_class_takes_the_reference_distribution",),
    ),
    Mutant(
        "consumer-waits-without-signals",
        "Ctrl-C stops an epoch within seconds, even while a slow shuffle window fills",
        "python/rdataloader/_engine.py",
        "ready = run.WaitForNext(_SIGNAL_CHECK_MS)",
        "ready = True",
        (TESTS + "test_reliability.py::test_sigint_while_a_slow_window_fills_stops_promptly",),
    ),
    Mutant(
        "background-builds-at-once",
        "the background builds of an engine cache run one at a time (each compiler needs most of a gigabyte)",
        "python/rdataloader/_engine_cache.py",
        "            fcntl.flock(lock, fcntl.LOCK_EX)\n",
        "",
        (TESTS + "test_engine_cache.py::test_the_background_builds_of_a_cache_take_turns",),
    ),
    Mutant(
        "killed-compiler-never-retried",
        "a compiler killed from outside does not turn the engine cache off for its signature",
        "python/rdataloader/_engine_cache.py",
        "if result.returncode < 0 or _KILLED.search(result.stderr):",
        "if False:",
        (TESTS + "test_engine_cache.py::test_a_killed_compiler_leaves_no_log_so_that_a_later_process_tries_again",),
    ),
    Mutant(
        "whole-loop-read-in-shrinking-runs",
        "a dataframe without clusters computes its Defines about once per epoch",
        "inc/ROOT/ML/Detail/REpochProducer.hxx",
        "std::min(wanted, piece)",
        "std::max<std::uint64_t>(wanted / 8, 1)",
        (TESTS + "test_sources.py::test_a_whole_dataframes_loop_computes_each_define_about_once_per_epoch",),
    ),
    Mutant(
        "event-loop-lock-per-loader",
        "loaders over nodes of one RDataFrame read at once, each delivering its own entries and values",
        "inc/ROOT/ML/Detail/REventLoopSource.hxx",
        "fLocks.back().push_back(&GetEventLoopLock(graph));",
        "fLocks.back().push_back(new std::mutex);",
        (TESTS + "test_concurrent_epochs.py::test_loaders_over_nodes_of_one_dataframe_read_at_once",),
    ),
    Mutant(
        "builds-never-share-a-read",
        "dataframes built once per reading thread compute the Defines of each read side by side",
        "inc/ROOT/ML/Detail/REventLoopSource.hxx",
        "static_cast<std::size_t>(std::clamp<std::uint64_t>(count / kMinPartEntries, 1, graphs))",
        "std::size_t{1}",
        (TESTS + "test_builds.py::test_every_build_computes_a_part_of_each_read",),
    ),
    Mutant(
        "build-parts-out-of-order",
        "dataframes built once per reading thread deliver the batches of the dataframe built once",
        "inc/ROOT/ML/Detail/REventLoopSource.hxx",
        "fParts[0][c].Append(fParts[p][c]);",
        "fParts[0][c].Append(fParts[parts - p][c]);",
        (TESTS + "test_builds.py::test_builds_deliver_the_batches_of_the_dataframe_built_once",),
    ),
    Mutant(
        "builds-not-checked",
        "builds of the dataframes that share a graph or differ in their operations are refused",
        "inc/ROOT/ML/RDataLoader.hxx",
        "   Detail::CheckReplicas(fNodes, fReplicas);\n",
        "",
        (TESTS + "test_builds.py::test_a_function_building_the_same_dataframe_twice_is_refused",
         TESTS + "test_builds.py::test_builds_with_other_operations_are_refused"),
    ),
)


def repository_files() -> list[str]:
    """The working tree's files that git tracks or would add: build outputs and caches are ignored."""
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=REPOSITORY, check=True, capture_output=True).stdout.decode()
    return sorted({path for path in listing.split("\0") if path})


def copy_repository(destination: Path, files: list[str]) -> None:
    for relative in files:
        source = REPOSITORY / relative
        if not source.exists():
            continue  # deleted in the working tree, not yet in the index
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


def mutate(copy: Path, mutant: Mutant) -> str:
    """Applies the mutant to the copy; returns why it cannot be applied, or ''."""
    target = copy / mutant.path
    if not target.is_file():
        return f"{mutant.path} does not exist"
    text = target.read_text()
    occurrences = text.count(mutant.old)
    if occurrences != 1:
        return f"the old text occurs {occurrences} times in {mutant.path}"
    target.write_text(text.replace(mutant.old, mutant.new))
    return ""


def run_tests(copy: Path, tests: tuple[str, ...], scratch: Path) -> tuple[int | None, str]:
    """pytest's exit status on ``tests`` in ``copy`` (None if it ran out of time), and its output."""
    environment = dict(os.environ, PYTHONPATH=str(copy / "python"), RDATALOADER_ENGINE_CACHE="")
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", f"--basetemp={scratch}",
               *tests]
    # A session of its own, so that a timeout also ends the processes the tests started.
    process = subprocess.Popen(command, cwd=copy, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return None, output
    return process.returncode, output


def check(mutant: Mutant, files: list[str], baseline: bool) -> Outcome:
    """Runs the mutant's tests on a mutated copy (on an unmutated one with ``baseline``)."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"rdataloader-mutant-{mutant.name}-") as temporary:
        copy = Path(temporary, "repository")
        copy_repository(copy, files)
        problem = "" if baseline else mutate(copy, mutant)
        if problem:
            return Outcome(mutant, "stale", time.perf_counter() - started, problem)
        status, output = run_tests(copy, mutant.tests, Path(temporary, "pytest"))
    seconds = time.perf_counter() - started
    tail = "\n".join(output.splitlines()[-OUTPUT_LINES:])
    if baseline:
        return Outcome(mutant, "passed" if status == 0 else "failed", seconds, "" if status == 0 else tail)
    if status is None:
        return Outcome(mutant, "killed (timeout)", seconds)
    # A crash fails a test suite too (a misaligned read may run off a buffer rather than deliver wrong values):
    # killed by a signal, or ended by ROOT's crash handler with 128 + a signal number.
    if status < 0 or status > 128:
        return Outcome(mutant, "killed (crash)", seconds, f"exit status {status}")
    # pytest: 0 all passed, 1 some failed; anything else means the tests did not run as listed.
    result = {0: "survived", 1: "killed"}.get(status, "error")
    return Outcome(mutant, result, seconds, tail if result == "error" else "")


def table(outcomes: list[Outcome]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| mutant | guarantee | file | tests | result | seconds |", "| --- | --- | --- | --- | --- | ---: |"]
    for o in outcomes:
        tests = "<br>".join(f"`{t.removeprefix(TESTS)}`" for t in o.mutant.tests)
        lines.append(f"| {o.mutant.name} | {cell(o.mutant.guarantee)} | `{o.mutant.path}` | {tests} | {o.result} "
                     f"| {o.seconds:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="check only these mutants")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="mutants checked at once (default 1)")
    parser.add_argument("--baseline", action="store_true",
                        help="run each mutant's tests on the unmutated tree: they must all pass")
    arguments = parser.parse_args(argv)
    if arguments.jobs < 1:
        parser.error("--jobs must be at least 1")

    mutants = list(MUTANTS)
    if arguments.only:
        known = {m.name for m in MUTANTS}
        unknown = [name for name in arguments.only if name not in known]
        if unknown:
            parser.error(f"no mutant named {', '.join(unknown)} (see --list)")
        mutants = [m for m in MUTANTS if m.name in arguments.only]
    if arguments.list:
        for m in mutants:
            print(f"{m.name:32} {m.path:44} {m.guarantee}")
        return 0

    files = repository_files()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=arguments.jobs) as pool:
        futures = [pool.submit(check, m, files, arguments.baseline) for m in mutants]
        outcomes = []
        for future in futures:
            outcome = future.result()
            outcomes.append(outcome)
            print(f"[{len(outcomes)}/{len(mutants)}] {outcome.mutant.name}: {outcome.result} "
                  f"({outcome.seconds:.1f} s)", file=sys.stderr, flush=True)
            if outcome.detail:
                print(outcome.detail, file=sys.stderr, flush=True)
    print(table(outcomes))
    good = {"passed"} if arguments.baseline else {"killed", "killed (timeout)", "killed (crash)"}
    failures = [o for o in outcomes if o.result not in good]
    summary = ", ".join(f"{o.mutant.name} {o.result}" for o in failures) or "all as expected"
    print(f"\n{len(outcomes)} mutants in {time.perf_counter() - started:.0f} s: {summary}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
