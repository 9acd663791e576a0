"""The exact shuffle (``shuffle="global"``): each split copied once into random piles on local disk.

A streaming shuffle mixes entries only within its window, so a dataset sorted by physics process stays
sorted at the scale of the window. Here the first epoch of a split streams every entry of it, in reading
order, and appends each entry to one of ``P`` pile files drawn at random, with ``P`` chosen so that a pile
holds about one window. Every epoch then reads the piles in a new random order and delivers each pile's
entries in a new random order. A pile is a uniform random sample of the whole split, so each batch is
too, while memory holds about one pile whatever the size of the dataset. The piles hold the entries as
delivered (converted and normalised), one fixed-size record per entry.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np


class _RecordSchema:
    """How one batch (a list of arrays, the first possibly a dictionary of arrays) maps to one record
    per entry, and back."""

    def __init__(self, arrays: list) -> None:
        self._keys = [tuple(a) if isinstance(a, dict) else None for a in arrays]
        leaves = self._leaves(arrays)
        self.names = [f"a{i}" for i in range(len(leaves))]
        self.dtype = np.dtype([(name, leaf.dtype, leaf.shape[1:]) for name, leaf in zip(self.names, leaves)])

    @staticmethod
    def _leaves(arrays: list) -> list[np.ndarray]:
        leaves: list[np.ndarray] = []
        for a in arrays:
            leaves.extend(a.values() if isinstance(a, dict) else [a])
        return leaves

    def records(self, arrays: list) -> np.ndarray:
        leaves = self._leaves(arrays)
        records = np.empty(len(leaves[0]), dtype=self.dtype)
        for name, leaf in zip(self.names, leaves):
            records[name] = leaf
        return records

    def batch(self, leaves: list[np.ndarray]) -> list:
        """The nested list of arrays of a batch, from its leaves in record order."""
        remaining = iter(leaves)
        return [dict(zip(keys, remaining)) if keys is not None else next(remaining) for keys in self._keys]


class PileCache:
    """The entries of one split, scattered at random over ``num_piles`` files in ``directory``.

    Parameters
    ----------
    directory : Path
        An empty directory that the cache owns.
    num_piles : int
        Number of pile files.
    seed : sequence of int
        Entropy of the draw of each entry's pile.
    buffer_bytes : int
        Entries held in memory before they are scattered over the piles: each scatter opens every pile,
        so it should hold many entries per pile.
    """

    def __init__(self, directory: Path, num_piles: int, seed: Sequence[int], buffer_bytes: int) -> None:
        self.directory = directory
        self._sizes = np.zeros(num_piles, dtype=np.int64)
        self._rng = np.random.default_rng(list(seed))
        self._buffer_bytes = buffer_bytes
        self._staged: list[np.ndarray] = []
        self._staged_bytes = 0
        self._schema: _RecordSchema | None = None

    @staticmethod
    def num_piles(entries: int, pile_entries: int) -> int:
        return max(1, math.ceil(entries / pile_entries))

    @property
    def nbytes(self) -> int:
        """Bytes on disk."""
        return 0 if self._schema is None else int(self._sizes.sum()) * self._schema.dtype.itemsize

    def _path(self, pile: int) -> Path:
        return self.directory / f"pile{pile:06d}.bin"

    def is_intact(self) -> bool:
        """Whether every pile file is on disk with the entries written to it (the directory may have
        been deleted, by a cleaner of the temporary directory for example)."""
        itemsize = 0 if self._schema is None else self._schema.dtype.itemsize
        for pile, size in enumerate(self._sizes):
            path = self._path(pile)
            if size and (not path.is_file() or path.stat().st_size != size * itemsize):
                return False
        return self.directory.is_dir()

    def add(self, arrays: list) -> None:
        """Take the entries of one batch; they reach their piles at the next flush."""
        if self._schema is None:
            self._schema = _RecordSchema(arrays)
        records = self._schema.records(arrays)
        self._staged.append(records)
        self._staged_bytes += records.nbytes
        if self._staged_bytes >= self._buffer_bytes:
            self.flush()

    def flush(self) -> None:
        """Scatter the entries taken so far over the piles, appending to each pile's file once."""
        if not self._staged:
            return
        records = np.concatenate(self._staged)
        self._staged, self._staged_bytes = [], 0
        piles = self._rng.integers(len(self._sizes), size=len(records))
        by_pile = records[np.argsort(piles, kind="stable")]
        start = 0
        for pile, count in enumerate(np.bincount(piles, minlength=len(self._sizes))):
            if count:
                try:
                    # file.write rather than ndarray.tofile, which does not report a short write (a full disk).
                    with open(self._path(pile), "ab") as file:
                        file.write(by_pile[start:start + count].data)
                except OSError as error:
                    needed = int(self._sizes.sum() + len(records)) * self._schema.dtype.itemsize
                    raise OSError(
                        error.errno,
                        f"shuffle='global' could not write its cache in {self.directory} ({error.strerror}); it "
                        f"needs at least {needed / 2**20:.1f} MiB there: free some space, or pass cache_dir= a "
                        "directory on a disk with room",
                    ) from error
                self._sizes[pile] += count
                start += count

    def batches(self, seed: Sequence[int], batch_size: int, drop_remainder: bool,
                skip: int = 0) -> Iterator[tuple[int, list]]:
        """One epoch as ``(rows, arrays)``: the piles in an order drawn from ``seed``, each pile's entries
        permuted, cut into batches of ``batch_size`` (a batch may span two piles); the first ``skip``
        entries are left out."""
        if self._schema is None:
            return
        pending: list[list[np.ndarray]] = []
        pending_rows = 0
        for pile in np.random.default_rng(list(seed)).permutation(len(self._sizes)):
            size = int(self._sizes[pile])
            if skip >= size:
                skip -= size
                continue
            records = np.fromfile(self._path(pile), dtype=self._schema.dtype)
            if len(records) != size:
                raise RuntimeError(
                    f"the shuffle cache file {self._path(pile)} holds {len(records)} entries instead of {size}: "
                    "it was changed while the loader used it; create the loader again"
                )
            order = np.random.default_rng([*seed, int(pile)]).permutation(size)[skip:]
            skip = 0
            start = 0
            if pending_rows:
                start = min(batch_size - pending_rows, len(order))
                pending.append(self._gather(records, order[:start]))
                pending_rows += start
                if pending_rows == batch_size:
                    yield batch_size, self._join(pending)
                    pending, pending_rows = [], 0
            while len(order) - start >= batch_size:
                yield batch_size, self._schema.batch(self._gather(records, order[start:start + batch_size]))
                start += batch_size
            if start < len(order):
                pending.append(self._gather(records, order[start:]))
                pending_rows += len(order) - start
        if pending_rows and not drop_remainder:
            yield pending_rows, self._join(pending)

    def _gather(self, records: np.ndarray, rows: np.ndarray) -> list[np.ndarray]:
        return [records[name][rows] for name in self._schema.names]

    def _join(self, pieces: list[list[np.ndarray]]) -> list:
        return self._schema.batch([np.concatenate(parts) for parts in zip(*pieces)])
