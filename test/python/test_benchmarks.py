"""The benchmark scripts still run, on tiny data (no timing is checked: benchmarks are not tests).

Each script's test is a class of its own: the test command's workers (``--dist loadscope``) take a module's
functions together, and a class apart, so that these three long runs can go to different workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _run(script: str, tmp_path: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--entries", "20000", "--quick", "--data-dir", str(tmp_path), *args],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _row(table: str, name: str, mode: str = "") -> list[str]:
    rows = [line for line in table.splitlines() if line.startswith(f"| {name} | {mode}")]
    assert rows, f"no row {name!r} in:\n{table}"
    return [cell.strip() for cell in rows[0].strip("|").split("|")]


class TestThroughput:
    """benchmarks/throughput.py"""

    def test_throughput_quick_mode_measures_every_reader_and_the_scaling_sweep(self, tmp_path):
        out = _run(
            "throughput.py", tmp_path, "--scaling", "--json", str(tmp_path / "t.json"),
            "--plot", str(tmp_path / "t.png"),
        )
        for reader in ("rootreadspeed --threads 2", "ROOT 6.40 loader", "rdataloader", "rdataloader, read_threads=1"):
            cells = _row(out, reader)
            assert float(cells[1]) > 0, cells  # an epoch time, not an error
        # Rates of rootreadspeed, ROOT's loader, ours and ours on one thread, for 101 columns and for 4x the entries.
        for columns, entries in (("101", "0.02M"), ("21", "0.08M")):
            cells = _row(out, columns, entries)
            assert all(float(cells[i]) > 0 for i in (2, 3, 5, 8)), cells
        # The filtered section's like-with-like row: our event loop, which evaluates the filter in epoch 2 too.
        assert _row(out, "rdataloader, read_threads=0")[1] == "evaluated (event loop, read_threads=0)", out
        assert (tmp_path / "t.png").stat().st_size > 0


class TestShuffleQuality:
    """benchmarks/shuffle_quality.py"""

    def test_shuffle_quality_quick_mode_reports_the_label_mix(self, tmp_path):
        out = _run("shuffle_quality.py", tmp_path, "--json", str(tmp_path / "s.json"),
                   "--plot", str(tmp_path / "s.png"))
        cells = _row(out, "rdataloader")
        assert cells[1] == "default" and float(cells[2]) > 0 and float(cells[3]) > 0, cells  # R, and R from stats()
        # Ten batches hold an eighth of the data. Streams over both files mix the labels through them, but each
        # file is sorted by f0, which shows through (the worst feature's R); the global shuffle mixes both.
        streaming = _row(out, "rdataloader", "10 |")
        assert float(streaming[2]) < 1.5 and float(streaming[4]) > 4, (streaming, out)
        exact = _row(out, "rdataloader", '10, shuffle="global"')
        assert float(exact[2]) < 1.5 and float(exact[4]) < 1.5, (exact, out)


class TestRealistic:
    """benchmarks/realistic.py"""

    def test_realistic_quick_mode_runs_every_row(self, tmp_path):
        out = _run("realistic.py", tmp_path, "--json", str(tmp_path / "r.json"))
        sections = {section.splitlines()[0]: section for section in out.split("\n### ")[1:]}
        titles = {  # file -> rows beside rootreadspeed
            "NanoAOD layout TTree": 8, "TTree of `ROOT::RVec<float>` branches": 4, "RNTuple of the same events": 8,
            "flat TTree": 4, "flat RNTuple twin": 4,
        }
        assert sorted(next(t for t in titles if s.startswith(t)) for s in sections) == sorted(titles), out
        for title, section in sections.items():
            rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in section.splitlines()
                    if line.startswith("| ") and not line.startswith(("| reader", "| ---"))]
            assert "error:" not in section, section
            reference, *loaders = rows
            assert reference[0] == "rootreadspeed --threads 2", section
            assert reference[1].startswith("n/a") if "RNTuple" in title else float(reference[3]) > 0, (title, reference)
            assert len(loaders) == next(n for t, n in titles.items() if title.startswith(t)), section
            for cells in loaders:
                # every epoch complete (20000 entries, batches of 1024, the remainder dropped) and timed
                assert cells[1] == "19456 / 19456" and float(cells[3]) >= 0, (title, cells)
                if cells[0].startswith("rdataloader"):
                    assert cells[-1] == "ok", (title, cells)  # no all-zero rows, no repeated entries
        assert (tmp_path / "r.json").stat().st_size > 0


class TestSave:
    """benchmarks/save.py"""

    def test_save_benchmark_times_every_writer(self, tmp_path):
        result = subprocess.run(
            [sys.executable, str(BENCHMARKS / "save.py"), "--entries", "3000", "--repeat", "1", "--data-dir",
             str(tmp_path)], capture_output=True, text=True, timeout=900,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        for format, writer in (("rntuple", "RDataFrame.Snapshot"), ("rntuple", "rdataloader save, unshuffled"),
                               ("rntuple", "rdataloader save, shuffled"), ("ttree", "RDataFrame.Snapshot"),
                               ("ttree", "rdataloader save, shuffled")):
            cells = _row(result.stdout, format, f"{writer} |")
            assert float(cells[2]) > 0 and cells[3] == "3,000", cells  # timed, and every entry written
