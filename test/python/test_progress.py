"""Progress of the long passes: shown once a pass has run a few seconds (tqdm, or lines without it), and
silent with progress=False."""

from __future__ import annotations

import sys

import pytest

import ROOT
from conftest import write_tree
from rdataloader import _cxx, _progress


@pytest.fixture
def impatient(monkeypatch):
    """Every pass counts as long: progress shows from its first step."""
    monkeypatch.setattr(_progress, "QUIET_SECONDS", 0.0)


@pytest.fixture
def without_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import then raises ImportError


def test_a_save_shows_a_tqdm_bar_and_nothing_with_progress_false(clustered_file, tmp_path, impatient, capsys):
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", clustered_file), batch_size=100, target="label")
    loader.save(tmp_path / "shown.root")
    bar = capsys.readouterr().err
    assert "saving shown.root" in bar and "10/10" in bar, bar  # tqdm's count of the epoch's batches

    quiet = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", clustered_file), batch_size=100, target="label",
                                progress=False)
    quiet.save(tmp_path / "quiet.root")
    assert "saving" not in capsys.readouterr().err


def test_without_tqdm_the_global_shuffle_prints_lines(clustered_file, impatient, without_tqdm, capsys):
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", clustered_file), batch_size=100, target="label",
                                 shuffle="global")
    assert sum(len(x) for x, _ in loader.as_numpy()) == 1000
    lines = capsys.readouterr().err.splitlines()
    copying = [line for line in lines if "copying the training split to its piles" in line]
    assert copying and "done, 1,000 entries in" in copying[-1], lines


def _ended(stderr: str) -> dict[str, str]:
    """The passes a display closed, and what it last counted: {description: "N entries"}."""
    return {line.split(": done, ")[0].removeprefix("rdataloader: "): line.split(": done, ")[1].split(" in ")[0]
            for line in stderr.splitlines() if ": done, " in line}


def test_the_passes_before_the_first_batch_report_every_entry_they_read(data_dir):
    path = write_tree(data_dir / "progress.root", 40_000, cluster=2_000)
    df = ROOT.RDataFrame("tree", path).Filter("idx % 4 != 0")
    passing = df.Count().GetValue()
    counted = ROOT.ML.RDataLoader(df, batch_size=1000, columns=["x", "y", "label"], target="label")
    progress = counted._ensure_engine()._progress
    # One pass, over every entry of the file, to count those that pass the Filter.
    assert (progress.GetNumPasses(), progress.GetDone(), progress.GetTotal()) == (1, 40_000, 40_000)

    fitted = ROOT.ML.RDataLoader(df, batch_size=1000, columns=["x", "y", "label"], target="label",
                                 class_weights="balanced", normalize="standard")
    progress = fitted._ensure_engine()._progress
    # Then the classes and the normalisation, each over the training split.
    assert (progress.GetNumPasses(), progress.GetDone(), progress.GetTotal()) == (3, passing, passing)


@pytest.fixture
def fake_passes():
    """A C++ call that runs three passes of 100, 200 and 300 entries, 30 ms each, reporting to an RProgress."""
    ROOT.gInterpreter.Declare("""
    #include "ROOT/ML/RProgress.hxx"
    #include <chrono>
    #include <thread>
    void rdataloader_test_fake_passes(ROOT::ML::RProgress &progress)
    {
       for (std::uint64_t task = 1; task <= 3; ++task) {
          progress.Begin(static_cast<ROOT::ML::EProgressTask>(task), 100 * task);
          for (int step = 0; step < 10; ++step) {
             std::this_thread::sleep_for(std::chrono::milliseconds(3));
             progress.Advance(10 * task);
          }
          progress.End();
       }
    }""")
    call = ROOT.rdataloader_test_fake_passes
    call.__release_gil__ = True
    return call


@pytest.mark.parametrize("enabled", [True, False])
def test_the_display_follows_each_pass_of_a_cxx_call(fake_passes, impatient, without_tqdm, monkeypatch, capsys,
                                                     enabled):
    monkeypatch.setattr(_progress, "_WATCH_SECONDS", 0.001)
    progress = ROOT.std.make_shared[ROOT.ML.RProgress]()
    with _cxx.reporting(progress, enabled):
        fake_passes(progress)
    shown = _ended(capsys.readouterr().err)
    assert shown == ({"counting the entries that pass the Filters": "100 entries", "counting the classes": "200 entries",
                      "fitting the normalisation": "300 entries"} if enabled else {}), shown


def test_load_eager_shows_the_split_being_read_into_memory(clustered_file, impatient, without_tqdm, capsys):
    loader = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", clustered_file), batch_size=100, target="label",
                                 load_eager=True, drop_remainder=False)
    assert sum(len(x) for x, _ in loader.as_numpy()) == 1000
    assert _ended(capsys.readouterr().err) == {"load_eager: reading the training split into memory": "1,000 entries"}

    quiet = ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", clustered_file), batch_size=100, target="label",
                                load_eager=True, progress=False)
    list(quiet.as_numpy())
    assert "rdataloader:" not in capsys.readouterr().err


def test_a_short_pass_shows_nothing(capsys):
    with _progress.Progress("a short pass", 3, enabled=True) as progress:
        for _ in range(3):
            progress.update()
    assert capsys.readouterr().err == ""


def test_progress_must_be_a_flag(clustered_file):
    with pytest.raises((TypeError, ValueError), match="progress"):
        ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", clustered_file), batch_size=100, progress="yes")
