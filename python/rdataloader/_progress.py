"""Progress of the passes that keep a user waiting: a tqdm bar where tqdm is installed, a line on stderr every
few seconds otherwise. A pass that ends within a few seconds shows nothing, so short runs and tests stay quiet."""

from __future__ import annotations

import sys
import time

#: A pass shows its progress once it has run this long.
QUIET_SECONDS = 3.0
#: Without tqdm, seconds between two lines.
LINE_SECONDS = 10.0


class Progress:
    """Counts the ``total`` batches of one pass, named by ``description``; silent unless ``enabled``.

    >>> with Progress("writing prepared.root", total=len(batches), enabled=True) as progress:
    ...     for batch in batches:
    ...         progress.update()
    """

    def __init__(self, description: str, total: int | None, enabled: bool) -> None:
        self._description = description
        self._total = total
        self._enabled = enabled
        self._done = 0
        self._started = time.monotonic()
        self._last_line = self._started
        self._bar = None
        self._lines = False  # tqdm found missing: lines on stderr instead

    def update(self) -> None:
        """One more batch done."""
        self._done += 1
        if not self._enabled:
            return
        if self._bar is not None:
            self._bar.update()
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
                self._bar = tqdm(total=self._total, initial=self._done, desc=self._description, unit="batch")
                return
        if now - self._last_line >= LINE_SECONDS or self._last_line == self._started:
            self._last_line = now
            of = f" of {self._total:,}" if self._total is not None else ""
            print(f"rdataloader: {self._description}: {self._done:,}{of} batches, {now - self._started:.0f} s",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._enabled and self._last_line != self._started:
            print(f"rdataloader: {self._description}: done, {self._done:,} batches in "
                  f"{time.monotonic() - self._started:.0f} s", file=sys.stderr, flush=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
