"""Results that travel to the window and stay there for a whole run (a run's prediction, the
engine's cache of previews): columns that are a count, the epochs of a count, or one row
repeated cost a few numbers, not a row per step (engine/recorder.py: compact, __reduce__).
No Qt, no training."""

import pickle

import numpy as np
import pytest

from engine.recorder import COMPACT_ROWS, RunResults, compact
from engine.torch_setup import configure_torch

configure_torch()

COLUMNS = ("step", "step_epoch", "step_loss", "step_lr", "step_momentum", "epoch", "train_loss", "val_loss",
           "epoch_lr")


def _results(first: int, n: int, spe: int) -> RunResults:
    step = np.arange(first, first + n, dtype=np.int64)
    lr = np.column_stack([0.1 * 0.99 ** (step // spe), np.full(n, np.nan)])  # a group added later: NaN so far
    epochs = np.arange(first // spe, (first + n - 1) // spe + 1, dtype=np.int64)
    return RunResults("r", step, step // spe, np.full(n, np.nan), lr, np.full((n, 2), 0.9), epochs,
                      np.linspace(1, 0.1, len(epochs)), np.full(len(epochs), np.nan),
                      np.full((len(epochs), 2), 0.05), [])


@pytest.mark.parametrize("first, n, spe", [(0, 5000, 26), (1234, 5000, 26), (7, 300, 1), (0, 100, 4)])
def test_what_arrives_is_equal_to_what_was_sent_column_by_column(first, n, spe):
    sent = _results(first, n, spe)
    for got in (pickle.loads(pickle.dumps(sent, protocol=5)), compact(sent)):
        for name in COLUMNS:
            a, b = getattr(sent, name), getattr(got, name)
            assert a.dtype == b.dtype and a.shape == b.shape, name
            assert np.array_equal(a, b, equal_nan=True), name


def test_columns_without_information_travel_as_a_few_numbers():
    sent = _results(1234, 20_000, 26)
    size = len(pickle.dumps(sent, protocol=5))
    # only the lr and the epochs' losses carry information: steps, epochs, NaN losses and momentum do not
    assert size < sent.step_lr.nbytes + sent.train_loss.nbytes + 4096
    got = compact(sent)
    for name in ("step", "step_epoch", "step_loss", "step_momentum"):
        column = getattr(got, name)
        assert not column.flags.writeable, name  # a shared view: nobody can change it for the others
        assert column.base is not None or column.strides[0] == 0, name


def test_a_column_with_information_is_kept_as_it_is():
    sent = _results(0, 1000, 26)
    sent.step[500:] += 3  # a gap: not a count, and its epochs are no longer those of a count
    sent.step_momentum[10, 0] = 0.5
    got = pickle.loads(pickle.dumps(sent, protocol=5))
    for name in ("step", "step_epoch", "step_momentum"):
        assert np.array_equal(getattr(got, name), getattr(sent, name), equal_nan=True), name
        assert getattr(got, name).flags.writeable, name


def test_short_columns_travel_as_they_are():
    sent = _results(0, COMPACT_ROWS - 1, 26)
    got = pickle.loads(pickle.dumps(sent, protocol=5))
    assert all(getattr(got, name).flags.writeable for name in COLUMNS)


def test_the_recorder_keeps_an_lr_as_the_rows_where_it_changes_and_gives_back_every_row():
    import math

    from engine.recorder import RunRecorder

    recorder = RunRecorder("r", groups=1, steps_per_epoch=4)
    rows = []
    for t in range(40):
        lr = 0.1 * 0.5 ** (t // 8)  # StepLR: a change every 8 steps
        if t == 20:
            recorder.add_group()  # a group added mid-run: NaN before it
        lrs = (lr,) if t < 20 else (lr, 0.01)
        momenta = (0.9,) if t < 20 else (0.9, float("nan"))  # a NaN of its own: still no value
        recorder.record_step(t, t // 4, float(t), lrs, momenta)
        rows.append((lrs + (math.nan,))[:2])
    got = recorder.snapshot()
    assert np.array_equal(got.step_lr, np.array(rows), equal_nan=True)
    assert np.array_equal(got.step_momentum[:20, 0], np.full(20, 0.9)) and np.isnan(got.step_momentum[:, 1]).all()
    assert recorder._step_momentum.changes == 1  # a NaN is no change, whichever NaN object it is
    assert recorder._step_lr.changes == 6  # 5 StepLR values + the added group, not 40 rows
    assert np.array_equal(recorder.snapshot(steps_from=17).step_lr, got.step_lr[17:], equal_nan=True)
    again = RunRecorder("r", groups=1, steps_per_epoch=4)
    again.load_state_dict(recorder.state_dict())  # a training-state file: rows in, rows out
    assert np.array_equal(again.snapshot().step_lr, got.step_lr, equal_nan=True)
    assert again._step_lr.changes == recorder._step_lr.changes
    again.record_step(40, 10, 40.0, (0.1 * 0.5 ** 4, 0.01), (0.9, float("nan")))
    assert again._step_lr.changes == recorder._step_lr.changes  # the same lr after the resume: no new change
