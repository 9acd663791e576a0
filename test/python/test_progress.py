"""Progress of the long passes: shown once a pass has run a few seconds (tqdm, or lines without it), and
silent with progress=False."""

from __future__ import annotations

import sys

import pytest

import ROOT
from conftest import write_tree
from rdataloader import _progress


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
    assert copying and "done, 10 batches in" in copying[-1], lines


@pytest.fixture
def watchful(monkeypatch):
    """The display looks at the C++ passes every millisecond, so that it sees even short ones."""
    monkeypatch.setattr(_progress, "_WATCH_SECONDS", 0.001)


def test_the_constructor_passes_and_eager_loading_show_the_entries_they_read(data_dir, impatient, watchful,
                                                                            without_tqdm, capsys):
    path = write_tree(data_dir / "progress.root", 400_000, cluster=20_000)
    df = ROOT.RDataFrame("tree", path).Filter("idx % 4 != 0")
    passing = df.Count().GetValue()
    loader = ROOT.ML.RDataLoader(df, batch_size=1000, columns=["x", "y", "label"], target="label",
                                 class_weights="balanced", normalize="standard", load_eager=True,
                                 drop_remainder=False)
    assert sum(len(batch[0]) for batch in loader.as_numpy()) == passing
    ended = {line.split(": done, ")[0].removeprefix("rdataloader: "): line.split(": done, ")[1].split(" in ")[0]
             for line in capsys.readouterr().err.splitlines() if ": done, " in line}
    assert ended == {
        "counting the entries that pass the Filters": "400,000 entries",  # every entry looped over
        "counting the classes": f"{passing:,} entries",  # the training split
        "fitting the normalisation": f"{passing:,} entries",
        "load_eager: reading the training split into memory": f"{passing:,} entries",
    }, ended

    quiet = ROOT.ML.RDataLoader(df, batch_size=1000, columns=["x", "y", "label"], target="label",
                                class_weights="balanced", normalize="standard", load_eager=True, progress=False)
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
