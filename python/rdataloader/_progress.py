"""Progress of the passes that keep a user waiting: a tqdm bar where tqdm is installed, a line on stderr every
few seconds otherwise. A pass that ends within a few seconds shows nothing, so short runs and tests stay quiet."""

from __future__ import annotations

import ctypes
import sys
import threading
import time

#: A pass shows its progress once it has run this long.
QUIET_SECONDS = 3.0
#: Without tqdm, seconds between two lines.
LINE_SECONDS = 10.0
#: What a pass counts.
_PLURALS = {"batch": "batches", "entry": "entries"}


class Progress:
    """Counts the ``total`` batches (or other ``unit``) of one pass, named by ``description``; silent unless
    ``enabled``.

    >>> with Progress("writing prepared.root", total=len(batches), enabled=True) as progress:
    ...     for batch in batches:
    ...         progress.update()
    """

    def __init__(self, description: str, total: int | None, enabled: bool, unit: str = "batch") -> None:
        self._description = description
        self._total = total
        self._enabled = enabled
        self._unit = unit
        self._done = 0
        self._started = time.monotonic()
        self._last_line = self._started
        self._bar = None
        self._lines = False  # tqdm found missing: lines on stderr instead

    def update(self, count: int = 1) -> None:
        """``count`` more done."""
        self._done += count
        if not self._enabled:
            return
        if self._bar is not None:
            self._bar.update(count)
            return
        now = time.monotonic()
        if now - self._started < QUIET_SECONDS:
            return
        if not self._lines:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                self._lines = True  # once: a failed import searches the whole path every time
            else:
                self._bar = tqdm(total=self._total, initial=self._done, desc=self._description, unit=self._unit)
                return
        if now - self._last_line >= LINE_SECONDS or self._last_line == self._started:
            self._last_line = now
            of = f" of {self._total:,}" if self._total is not None else ""
            print(f"rdataloader: {self._description}: {self._done:,}{of} {_PLURALS[self._unit]}, "
                  f"{now - self._started:.0f} s", file=sys.stderr, flush=True)

    def advance_to(self, done: int) -> None:
        """``done`` in all so far."""
        self.update(max(0, done - self._done))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._enabled and self._last_line != self._started:
            print(f"rdataloader: {self._description}: done, {self._done:,} {_PLURALS[self._unit]} in "
                  f"{time.monotonic() - self._started:.0f} s", file=sys.stderr, flush=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


#: The passes of ROOT::ML::EProgressTask that a C++ call reports through an RProgress.
_CXX_TASKS = {
    1: "counting the entries that pass the Filters",
    2: "counting the classes",
    3: "fitting the normalisation",
}
#: Seconds between two looks at an RProgress.
_WATCH_SECONDS = 0.2


class CxxProgress:
    """Shows, from a thread of its own (none unless ``enabled``), the passes that a C++ call running on the
    caller's thread (with the GIL released) reports to the ``ROOT::ML::RProgress`` whose words lie at ``address``.

    The thread reads the words with ctypes, never through cppyy: the C++ call may hold ROOT's interpreter.
    """

    def __init__(self, address: int, enabled: bool) -> None:
        self._words = (ctypes.c_uint64 * 4).from_address(address)
        self._enabled = enabled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="rdataloader-progress", daemon=True)

    def _watch(self) -> None:
        shown, shown_total, progress = 0, 0, None  # the pass shown, its total, and its display
        while True:
            stopping = self._stop.wait(_WATCH_SECONDS)
            passes, task, done, total = self._words
            if progress is not None:
                # A pass that another has followed is complete.
                progress.advance_to(done if passes == shown else shown_total)
                if passes != shown or not task or stopping:
                    progress.close()
                    progress = None
            if stopping:
                return
            if passes != shown and task:
                shown, shown_total = passes, total
                progress = Progress(_CXX_TASKS[task], total, enabled=True, unit="entry")
                progress.advance_to(done)

    def __enter__(self) -> CxxProgress:
        if self._enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._enabled:
            self._stop.set()
            self._thread.join()
