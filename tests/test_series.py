"""The window's copy of each run's results (gui/series.py): no Qt needed, no torch training."""

import numpy as np
import pytest

from engine.recorder import GrowingTable, RunRecorder, RunResults
from gui.series import Counting, RunSeries


def _part(start: int, n: int, spe: int, groups: int = 1) -> RunResults:
    step = np.arange(start, start + n)
    lr = np.repeat((0.1 * 0.999 ** step)[:, None], groups, axis=1)
    return RunResults("r", step, step // spe, np.sqrt(step + 1.0), lr, np.full((n, groups), np.nan),
                      np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty((0, groups)), [])


def test_series_gives_back_exactly_what_the_engine_published_in_parts():
    series, spe = RunSeries("r", steps_per_epoch=7), 7
    for start, n in ((0, 5), (5, 1), (6, 3000), (3006, 17)):
        series.append(_part(start, n, spe))
    whole = _part(0, 3023, spe)
    got = series.exact()
    for field in ("step", "step_epoch", "step_loss", "step_lr"):
        assert np.array_equal(getattr(got, field), getattr(whole, field)), field
    assert got.step.dtype == np.int64 and got.step_epoch.dtype == np.int64
    assert np.isnan(got.step_momentum).all()


def test_step_and_epoch_columns_are_computed_where_read_not_kept():
    a = RunSeries("a", 26)
    a.append(_part(0, 100, 26))
    r = a.results()
    assert isinstance(r.step, Counting) and isinstance(r.step_epoch, Counting)
    assert r.step[:].tolist() == list(range(100)) and r.step_epoch[:].tolist() == [s // 26 for s in range(100)]
    assert r.step[-1] == 99 and r.step_epoch[np.array([0, 25, 26, 99])].tolist() == [0, 0, 1, 3]
    assert r.step[10:20:3].tolist() == [10, 13, 16, 19] and len(r.step) == 100 and r.step.shape == (100,)
    with pytest.raises(IndexError):
        r.step[100]
    # the readout's lookup, as numpy's on the whole column
    whole_steps, whole_epochs = np.arange(100), np.arange(100) // 26
    for value in (-3, 0, 0.5, 7, 25.5, 26, 99, 99.2, 150):
        for side in ("left", "right"):
            assert r.step.searchsorted(value, side) == np.searchsorted(whole_steps, value, side), (value, side)
            assert r.step_epoch.searchsorted(value, side) == np.searchsorted(whole_epochs, value, side), (value, side)
    assert np.searchsorted(r.step, 42.0) == 42 and r.step.astype(np.int64).dtype == np.int64


def test_a_gap_in_the_published_steps_is_refused_not_drawn_shifted():
    series = RunSeries("r", 4)
    series.append(_part(0, 10, 4))
    with pytest.raises(ValueError, match="do not follow"):
        series.append(_part(11, 3, 4))


def test_growing_table_room_is_not_values_rows_it_writes_have_nan_where_unset():
    table = GrowingTable(3, capacity=2)
    table.write(0, (1.0,))
    table.extend(1, np.array([[2.0, 3.0]]))
    table.extend(2, np.array([[4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]))  # grows
    view = table.view(4)
    assert view.shape == (4, 3)
    assert np.array_equal(view[:2], [[1.0, np.nan, np.nan], [2.0, 3.0, np.nan]], equal_nan=True)
    assert np.array_equal(view[2:], [[4, 5, 6], [7, 8, 9]])


def test_recorder_rows_without_momentum_say_no_value():
    recorder = RunRecorder("r", groups=2, steps_per_epoch=10)
    for step in range(1500):  # past the first capacity, so rows come from grown room too
        recorder.record_step(step, step // 10, 1.0, (0.1,), ())
    snap = recorder.snapshot()
    assert np.isnan(snap.step_momentum).all() and np.isnan(snap.step_lr[:, 1]).all()
    assert (snap.step_lr[:, 0] == 0.1).all()


def test_recorder_refuses_a_step_out_of_order_rather_than_number_rows_wrongly():
    recorder = RunRecorder("r", groups=1, steps_per_epoch=4)
    recorder.record_step(0, 0, 1.0, (0.1,), ())
    with pytest.raises(ValueError, match="in order"):
        recorder.record_step(2, 0, 1.0, (0.1,), ())
    snap = recorder.snapshot()
    assert snap.step.tolist() == [0] and snap.step_epoch.tolist() == [0]


def test_an_lr_or_momentum_that_never_moves_is_one_row_until_one_differs():
    series = RunSeries("r", steps_per_epoch=5)
    part = _part(0, 400, 5, groups=2)
    part.step_momentum[:] = 0.9
    part.step_lr[:] = 0.01  # no scheduler: the lr stays
    series.append(part)
    got = series.results()
    assert series._step_lr.changes == 1 and got.step_momentum.strides[0] == 0  # one row, not 400
    assert np.array_equal(got.step_lr, np.full((400, 2), 0.01)) and not got.step_momentum.flags.writeable
    moved = _part(400, 10, 5, groups=2)
    moved.step_momentum[:] = 0.9
    moved.step_momentum[3, 1] = 0.5  # the first different row: from here on rows are kept
    moved.step_lr[:] = 0.01
    series.append(moved)
    got = series.exact()
    assert np.array_equal(got.step_momentum[:400], np.full((400, 2), 0.9))
    assert np.array_equal(got.step_momentum[400:], moved.step_momentum)
    assert got.step_lr.shape == (410, 2) and (got.step_lr == 0.01).all()


def test_a_group_added_under_a_steady_lr_keeps_nan_before_it():
    series = RunSeries("r", steps_per_epoch=5)
    part = _part(0, 20, 5, groups=1)
    part.step_lr[:] = 0.1
    series.append(part)
    wider = _part(20, 5, 5, groups=2)
    wider.step_lr[:] = 0.1
    series.append(wider)
    lr = series.exact().step_lr
    assert lr.shape == (25, 2) and np.isnan(lr[:20, 1]).all() and (lr[20:, 1] == 0.1).all() and (lr[:, 0] == 0.1).all()


def test_an_lr_is_kept_as_its_changes_and_read_back_exactly_however_it_is_indexed():
    from gui.series import ChangeView

    rng = np.random.default_rng(4)
    lr = np.repeat(0.1 * 0.5 ** np.arange(40), 26)[:1000]  # StepLR per epoch of 26 steps
    lr = np.column_stack([lr, np.where(np.arange(1000) < 300, np.nan, lr * 10)])  # group 1 added at step 300
    lr[500:520, 0] = rng.random(20)  # a stretch of per-step changes
    series = RunSeries("r", steps_per_epoch=26)
    for start, n in ((0, 1), (1, 299), (300, 1), (301, 450), (751, 249)):
        part = _part(start, n, 26, groups=2 if start >= 300 else 1)
        part.step_lr[:] = lr[start:start + n, :part.step_lr.shape[1]]
        series.append(part)
    view = series.results().step_lr
    assert isinstance(view, ChangeView) and series._step_lr.changes < 100  # not a row a step
    assert view.shape == (1000, 2) and len(view) == 1000
    assert np.array_equal(view.copy(), lr, equal_nan=True) and np.array_equal(np.asarray(view), lr, equal_nan=True)
    assert np.array_equal(view[290:310], lr[290:310], equal_nan=True)
    assert np.array_equal(view[-1], lr[-1]) and view[505, 0] == lr[505, 0] and np.isnan(view[5, 1])
    column = view[:, 1]
    assert isinstance(column, ChangeView) and column.shape == (1000,)
    assert np.array_equal(column[np.array([0, 299, 300, 999])], lr[[0, 299, 300, 999], 1], equal_nan=True)
    assert column[-1] == lr[-1, 1] and np.array_equal(view[:10, :1], lr[:10, :1])
    with pytest.raises(IndexError):
        view[1000]
