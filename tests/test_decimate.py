"""The live curves' decimation (gui/decimate.py, no Qt): what a curve is handed equals the peaks of
the whole column computed at once, however the rows arrived, and an lr's change rows are every
row where it changes."""

import math

import numpy as np
import pytest

from gui.decimate import Changes, Peaks, bucket_size


def reference(y: np.ndarray, size: int, first_row: int = 0, stop: int | None = None):
    """Peaks written out bucket by bucket: (bucket start, min), (bucket start, max)."""
    stop = len(y) if stop is None else stop
    rows, values = [], []
    for start in range(first_row, stop, size):
        bucket = y[start:start + size]
        rows += [start, start]
        values += [bucket.min(), bucket.max()]
    return rows, values


def test_bucket_size_is_the_smallest_power_of_two_that_fits():
    assert bucket_size(500, 300) == 1  # up to two rows a pixel: drawn as they are
    assert bucket_size(1_000_000, 800) == 2048  # 1e6 / 2048 = 488 buckets on 800 pixels
    assert bucket_size(4096, 1024) == 4


@pytest.mark.parametrize("arrivals", [[1_000_000], [1, 5000, 5001, 70_000, 400_000, 1_000_000],
                                      [100_000 * k + 37 for k in range(1, 11)]])
def test_growing_column_gives_the_peaks_of_the_whole(arrivals):
    y = np.random.default_rng(1).standard_normal(1_000_037)
    peaks = Peaks()
    extent = 1_000_037
    for n in arrivals:  # frame after frame, as the rows arrive
        rows, values = peaks.points("loss", y[:n], 0.0, extent, 800)
    size = bucket_size(extent, 800)
    want_rows, want_values = reference(y[:arrivals[-1]], size)
    assert rows.tolist() == want_rows and values.tolist() == want_values


def test_a_short_column_is_drawn_as_it_is():
    y = np.arange(10.0)
    rows, values = Peaks().points("k", y, 0.0, 100.0, 800)
    assert rows.tolist() == list(range(10)) and values.tolist() == y.tolist()


def test_a_zoomed_view_is_computed_from_the_rows_it_shows():
    y = np.random.default_rng(2).random(200_000)
    peaks = Peaks()
    peaks.points("k", y, 0.0, 200_000, 500)  # the whole run first (fills the summary)
    rows, values = peaks.points("k", y, 50_000.5, 150_000.0, 500)
    size = bucket_size(150_000.0 - 50_000.5, 500)
    first = 50_000 // size * size
    want_rows, want_values = reference(y, size, first, (150_001 + size - 1) // size * size)
    assert rows.tolist() == want_rows and values.tolist() == want_values
    assert rows[0] <= 50_000 and rows[-1] + size >= 150_000  # the view is covered edge to edge


def test_new_contents_are_never_mixed_with_old_ones():
    peaks = Peaks()
    a, b = np.zeros(100_000), np.ones(100_000)
    peaks.points(("session", 1), a, 0.0, 100_000, 400)
    rows, values = peaks.points(("session", 2), b, 0.0, 100_000, 400)
    assert set(values.tolist()) == {1.0}
    _, values = peaks.points(("session", 2), b[:50_000], 0.0, 100_000, 400)  # shorter: starts over
    assert set(values.tolist()) == {1.0}


def test_a_non_finite_loss_stays_visible_as_a_gap():
    y = np.ones(100_000)
    y[60_000:] = np.nan  # diverged
    rows, values = Peaks().points("k", y, 0.0, 100_000, 400)
    assert np.isnan(values[-1]) and np.isfinite(values[0])


def test_changes_are_every_row_where_the_lr_changes():
    lr = np.repeat([0.1, 0.05, 0.025, 0.0125], 2600)  # StepLR: three drops
    lr = np.concatenate([[math.nan] * 5, lr])  # a group that came later: NaN until then
    changes = Changes()
    for n in (1, 3, 5, 6, 2605, 2606, 7000, len(lr)):
        rows = changes.update("lr", lr[:n])
    assert rows.tolist() == [0, 5, 2605, 5205, 7805]


def test_a_schedule_that_changes_every_step_is_dense():
    changes = Changes()
    assert changes.update("lr", np.linspace(0.1, 0.0, 10)) is not None  # a few rows: never dense
    assert changes.update("lr", np.linspace(0.1, 0.0, 10_000)) is None
    assert changes.update("other", np.full(10_000, 0.1)).tolist() == [0]  # a new column starts over


def test_a_difference_is_computed_only_where_asked_and_summarised_like_a_column():
    from gui.decimate import Difference

    rng = np.random.default_rng(3)
    a, b = rng.random(300_000), rng.random(310_000)
    n = 300_000
    lazy = Difference(a, b, n)
    assert len(lazy) == n and lazy[-1] == a[n - 1] - b[n - 1]
    assert np.array_equal(lazy[10:20], a[10:20] - b[10:20])
    assert np.array_equal(lazy[np.array([0, 5])], a[[0, 5]] - b[[0, 5]])
    got = Peaks().points("d", lazy, 0.0, n, 600)
    want = Peaks().points("d", a[:n] - b[:n], 0.0, n, 600)
    assert all(np.array_equal(g, w) for g, w in zip(got, want))
