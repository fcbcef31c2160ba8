"""What a live curve hands pyqtgraph: about two points per pixel column, from the rows new since
the last frame.

A run's per-step columns grow by a few dozen rows a frame and reach millions. Handed whole to
pyqtgraph at every frame, a column was clipped, downsampled and (on a log axis) copied through
``log10`` row by row each time: work and garbage in proportion to the run's length on the GUI
thread, and memory that grew with it. Here a column keeps the minimum and the maximum of each
bucket of 2**k rows ("peak" downsampling, as pyqtgraph's: a spike stays visible), extended by
the new rows only; a view zoomed into the middle is computed from the rows it shows. An lr keeps
the rows where it changes (:class:`Changes`), found the same way, and is drawn as the staircase
it is. Qt-free: numpy only.
"""

from __future__ import annotations

import math

import numpy as np

from engine.recorder import GrowingTable

__all__ = ["Changes", "Difference", "Peaks", "bucket_size", "differs"]

DENSE_FROM = 64  # below this many rows a column is never called dense (see Changes)


def bucket_size(rows: float, pixels: float) -> int:
    """The smallest power of two of rows per bucket that puts ``rows`` on ``pixels`` columns."""
    if rows <= 2 * pixels:
        return 1
    return 1 << max(math.ceil(math.log2(rows / max(pixels, 1.0))), 0)


def _peaks(y: np.ndarray, start: int, stop: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Minimum and maximum of each whole bucket of ``size`` rows from ``start`` (a multiple of ``size``)."""
    whole = (stop - start) // size * size
    chunk = y[start:start + whole].reshape(-1, size)
    return chunk.min(axis=1), chunk.max(axis=1)


class Peaks:
    """The peak summary of one growing column (rows are appended, never changed, while ``key``
    stays the same; a new key, a shorter column or another bucket size starts over)."""

    def __init__(self):
        self.key = None
        self.size = 0
        self.done = 0  # whole buckets summarised
        self.low = GrowingTable(1)
        self.high = GrowingTable(1)

    def points(self, key, y: np.ndarray, first: float, last: float, pixels: float) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers (floats) and values to draw rows ``first`` .. ``last`` of ``y`` (the view's
        edges in rows: fractional, and outside ``y`` where the view is) on ``pixels`` columns."""
        n = len(y)
        lo, hi = max(math.floor(first), 0), min(math.ceil(last) + 1, n)
        if lo >= hi:
            return np.empty(0), np.empty(0)
        size = bucket_size(last - first, pixels)
        if size == 1:  # few enough to draw as they are (a row beyond each edge: the line reaches the frame)
            a, b = max(lo - 1, 0), min(hi + 1, n)
            return np.arange(a, b, dtype=float), y[a:b]
        whole = n // size
        if first <= 0:  # the start in view (the usual case: the whole run): the summary, extended
            first_bucket = 0
            low, high = self._summary(key, y, size, whole)
        else:  # zoomed into the middle: the buckets in view, aligned as the summary's would be
            first_bucket = lo // size
            low, high = _peaks(y, first_bucket * size, min(hi + size, n), size)
        last_bucket = min(-(-hi // size), whole)
        low, high = low[:last_bucket - first_bucket], high[:last_bucket - first_bucket]
        starts = (first_bucket + np.arange(len(low))) * float(size)
        if whole * size < n and hi > whole * size:  # the last bucket, still filling
            tail = y[whole * size:n]
            starts = np.append(starts, float(whole * size))
            low, high = np.append(low, tail.min()), np.append(high, tail.max())
        rows = np.repeat(starts, 2)
        values = np.empty(2 * len(low))
        values[0::2], values[1::2] = low, high
        return rows, values

    def _summary(self, key, y: np.ndarray, size: int, whole: int) -> tuple[np.ndarray, np.ndarray]:
        if key != self.key or size != self.size or whole < self.done:
            self.key, self.size, self.done = key, size, 0
        if whole > self.done:
            low, high = _peaks(y, self.done * size, whole * size, size)
            self.low.extend(self.done, low.reshape(-1, 1))
            self.high.extend(self.done, high.reshape(-1, 1))
            self.done = whole
        return self.low.view(self.done)[:, 0], self.high.view(self.done)[:, 0]


class Difference:
    """``a[:n] - b[:n]`` as a column that computes only the rows asked for (the comparison of two
    runs: a copy of it would cost what a run's loss does, and all but its newest rows are summarised)."""

    def __init__(self, a: np.ndarray, b: np.ndarray, n: int):
        self.a, self.b, self.n = a, b, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index):
        if isinstance(index, slice):
            index = slice(*index.indices(self.n))
        elif isinstance(index, int) and index < 0:
            index += self.n
        return self.a[index] - self.b[index]


def differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise "not the same number" (a NaN equals a NaN: a group not there yet stays so, two
    runs that both diverged agree)."""
    return ~((a == b) | (np.isnan(a) & np.isnan(b)))


class Changes:
    """The rows where one growing column changes value (row 0 first), found in the new rows only.

    A column that changes at most rows (OneCycleLR per step) is :attr:`dense`: it stops being
    tracked (a row number per row would cost what the column does) and is drawn by its peaks.
    """

    def __init__(self):
        self.key = None
        self.done = 0
        self.count = 0
        self.rows = GrowingTable(1)
        self.dense = False

    def update(self, key, y: np.ndarray) -> np.ndarray | None:
        """The change rows of ``y`` (ints), or None when it is dense."""
        n = len(y)
        if key != self.key or n < self.done:
            self.key, self.done, self.count, self.dense = key, 0, 0, False
        if self.dense:
            return None
        if n > self.done:
            start = max(self.done, 1)
            new = np.flatnonzero(differs(y[start:n], y[start - 1:n - 1])) + start
            if self.done == 0:
                new = np.concatenate([[0], new])
            self.rows.extend(self.count, new.reshape(-1, 1).astype(float))
            self.count += len(new)
            self.done = n
            if n >= DENSE_FROM and self.count > n // 2:
                self.dense = True
                return None
        return self.rows.view(self.count)[:, 0].astype(np.intp)
