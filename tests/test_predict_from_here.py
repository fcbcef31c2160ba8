"""Predicting the rest of a run from its schedule's state mid-run, and the edit note derived from it.

For every scheduler class of the registry: train part of a run, edit an lr with a command,
take ``schedule_state()`` at the next step boundary, predict, train to the end, and compare
bit for bit (ReduceLROnPlateau: the note says the probe cannot know the losses).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from engine import preview
from engine.commands import AddGroup, SetGroupOptions
from engine.config import GroupConfig
from engine.edit_effect import FADED, PLATEAU_EFFECT, edit_effect
from engine.preview import predict_from
from engine.registry import SCHEDULERS
from engine.run import ScheduleProbe
from engine.session import TrainingSession
from engine.status import RunStatus
from tests.engine_helpers import experiment, train
from tests.plain_torch import train as plain_train
from tests.test_schedules import GOLDEN

EPOCHS, SPE = 30, 4  # samples 128, batch 32, no validation set
SGD = {"type": "SGD", "lr": 0.1, "momentum": 0.9}

# A small valid config of every scheduler class (the golden table of test_schedules, plus the one
# scheduler whose lr depends on the losses).
CONFIGS = {**{name: table for name, (table, _) in GOLDEN.items()},
           "ReduceLROnPlateau": {"type": "ReduceLROnPlateau", "patience": 1, "monitor": "train_loss",
                                 "min_lr": 0.0001}}
CASES = [(name, interval) for name in sorted(SCHEDULERS)
         for interval in SCHEDULERS[name].params["interval"].type.options]



def scheduler(name: str, interval: str) -> dict:
    return {**CONFIGS[name], "interval": interval}


def session_at(exp, t: int) -> TrainingSession:
    session = TrainingSession(exp)
    session.run(max_steps=t)
    assert session.position == t
    return session


def same(prediction, results, t: int) -> bool:
    """The prediction is, bit for bit, what the run used from step ``t`` on."""
    p = prediction.results
    return (p.step.tolist() == list(range(t, len(results.step)))
            and p.step_lr.tobytes() == results.step_lr[t:].tobytes()
            and p.step_momentum.tobytes() == results.step_momentum[t:].tobytes())


def test_every_scheduler_of_the_registry_has_a_config():
    assert set(CONFIGS) == set(SCHEDULERS)


@pytest.mark.parametrize("rebase", [False, True], ids=["edit", "rebase"])
@pytest.mark.parametrize("name,interval", CASES)
def test_prediction_from_here_equals_the_run(name, interval, rebase):
    """A group added before, manual decay, scheduled edits still to come (by epoch and by step)."""
    exp = experiment([{"optimizer": SGD, "scheduler": scheduler(name, interval),
                       "groups": [{"module": "layer", "lr": 0.1}], "manual": {"every": 7, "factor": 0.5},
                       "edits": [{"epoch": 5, "add_group": {"module": "layer2", "lr": 0.01}},
                                 {"epoch": 15, "group": 1, "lr": 0.02}, {"step": 83, "group": 0, "lr": 0.04}]}],
                     epochs=EPOCHS)
    t = 9 * SPE + 2  # mid-epoch
    session = session_at(exp, t)
    command = SetGroupOptions(run=0, group=0, options={"lr": 0.03}, rebase=rebase)
    session.submit(command)
    session.step()
    run = session.runs[0]
    state = pickle.loads(pickle.dumps(run.schedule_state()))  # it crosses a pipe
    assert run.before_commands[0] == t
    before = pickle.loads(pickle.dumps(run.before_commands[1]))
    here = predict_from(exp, 0, state, t + 1)
    with_commands = predict_from(exp, 0, before, t, commands=[command])
    without = predict_from(exp, 0, before, t)
    session.run()
    (trained,) = session.snapshot()
    for prediction in (here, with_commands, without):
        assert prediction.complete
    if name == "ReduceLROnPlateau":  # the probe cannot know the losses, and says so
        for prediction in (here, with_commands, without):
            assert "only training shows" in prediction.note
        return
    assert here.note == with_commands.note == without.note == ""
    assert same(here, trained, t + 1)
    assert same(with_commands, trained, t)
    if not rebase:
        _, (untouched,) = train(exp)  # the same run without the command
        assert same(without, untouched, t)
    assert with_commands.results.step_lr[0, 0] == 0.03
    assert without.results.step_lr[0, 0] != 0.03


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_a_group_added_by_command_and_one_still_to_come(name):
    interval = "epoch"
    base = {"optimizer": SGD, "scheduler": scheduler(name, interval), "groups": [{"module": "layer", "lr": 0.1}]}
    # layer2 added by a command mid-run: the state has a group the config does not
    exp = experiment([base], epochs=EPOCHS)
    session = session_at(exp, 41)
    session.submit(AddGroup(run=0, group=GroupConfig("layer2", {"lr": 0.02})))
    session.step()
    state = session.runs[0].schedule_state()
    assert state["modules"] == ["layer", "layer2"] and len(state["groups"]) == 2
    here = predict_from(exp, 0, state, 42)
    session.run()
    (trained,) = session.snapshot()
    # layer2 added by a scheduled edit after the boundary: the probe adds it itself
    later = experiment([{**base, "edits": [{"epoch": 20, "add_group": {"module": "layer2", "lr": 0.02}}]}],
                       epochs=EPOCHS)
    session2 = session_at(later, 41)
    coming = predict_from(later, 0, session2.runs[0].schedule_state(), 41)
    session2.run()
    (trained2,) = session2.snapshot()
    assert here.complete and coming.complete
    if name == "ReduceLROnPlateau":
        assert "only training shows" in here.note and "only training shows" in coming.note
        return
    assert same(here, trained, 42)
    assert same(coming, trained2, 41)
    assert [e.kind for e in coming.results.events].count("add_group") == 1


@pytest.mark.parametrize("name", [n for n in sorted(SCHEDULERS) if n != "ReduceLROnPlateau"])
def test_from_an_epoch_start_the_probe_steps_once_per_epoch(name, monkeypatch):
    """predict_schedule's speed trick: with nothing inside epochs, one probe step per epoch, same curve."""
    exp = experiment([{"optimizer": SGD, "scheduler": scheduler(name, "epoch"), "manual": {"every": 7, "factor": 0.5},
                       "edits": [{"epoch": 17, "lr": 0.02}]}], epochs=EPOCHS)
    steps = []

    class Counting(ScheduleProbe):
        def step(self, t, commands=None):
            steps.append(t)
            super().step(t, commands)

    monkeypatch.setattr(preview, "ScheduleProbe", Counting)
    t = 9 * SPE
    session = session_at(exp, t)
    command = SetGroupOptions(run=0, group=None, options={"lr": 0.03})
    session.submit(command)
    session.step()
    before = session.runs[0].before_commands[1]
    with_commands = predict_from(exp, 0, before, t, commands=[command])
    assert steps == list(range(9, EPOCHS))
    without = predict_from(exp, 0, before, t)
    session.run(max_steps=3)
    at_epoch_start = predict_from(exp, 0, session.runs[0].schedule_state(), 10 * SPE)
    session.run()
    (trained,) = session.snapshot()
    _, (untouched,) = train(exp)
    assert same(with_commands, trained, t)
    assert same(without, untouched, t)
    assert same(at_epoch_start, trained, 10 * SPE)
    assert at_epoch_start.results.epoch_lr.tobytes() == trained.epoch_lr[10:].tobytes()
    assert [(e.step, e.kind) for e in at_epoch_start.results.events] == \
        [(e.step, e.kind) for e in trained.events if e.step >= 10 * SPE]


def test_the_state_is_plain_data_and_never_changed_by_predicting():
    exp = experiment([{"optimizer": SGD, "scheduler": scheduler("SequentialLR", "epoch"),
                       "edits": [{"epoch": 12, "lr": 0.05, "rebase": True}]}], epochs=EPOCHS)
    session = session_at(exp, 30)
    state = session.runs[0].schedule_state()
    assert set(state) == {"groups", "modules", "scheduler", "edit_position", "status", "epoch_lrs",
                          "negative_groups"}
    live = session.runs[0].optimizer.param_groups[0]
    assert "params" not in state["groups"][0] and state["groups"][0]["lr"] == live["lr"]
    frozen = pickle.dumps(state)
    first = predict_from(exp, 0, state, 30)
    second = predict_from(exp, 0, state, 30)
    assert pickle.dumps(state) == frozen
    assert first.results.step_lr.tobytes() == second.results.step_lr.tobytes()
    session.run(max_steps=50)  # the live run goes on: a state taken earlier stays as it was
    assert pickle.dumps(state) == frozen


def test_before_commands_only_when_commands_arrive():
    exp = experiment([{"optimizer": SGD}], epochs=3)
    session = session_at(exp, 5)
    assert session.runs[0].before_commands is None
    session.submit(SetGroupOptions(run=0, group=0, options={"lr": 0.5}))
    session.step()
    t, state = session.runs[0].before_commands
    assert t == 5 and state["groups"][0]["lr"] == 0.1
    session.step()
    assert session.runs[0].before_commands[0] == 5


def test_a_finished_run_has_nothing_left_to_predict():
    exp = experiment([{"optimizer": SGD}], epochs=2)
    session, _ = train(exp)
    prediction = predict_from(exp, 0, session.runs[0].schedule_state(), session.position)
    assert prediction.complete and len(prediction.results.step) == 0
    assert "finished" in prediction.note


def test_the_prediction_stops_at_max_steps_and_says_so():
    exp = experiment([{"optimizer": SGD, "scheduler": scheduler("StepLR", "step")}], epochs=EPOCHS)
    session = session_at(exp, 10)
    prediction = predict_from(exp, 0, session.runs[0].schedule_state(), 10, max_steps=7)
    assert not prediction.complete and prediction.results.step.tolist() == list(range(10, 17))
    assert "stops at step 17" in prediction.note


# -- the edit note ------------------------------------------------------------------------------
def effect(sched: dict | None, t: int, lr: float, *, rebase: bool = False, epochs: int = EPOCHS, **run) -> str:
    """The note for ``lr`` set on group 0 before step ``t``, derived both ways the GUI can."""
    table = {"optimizer": SGD, **run}
    if sched is not None:
        table["scheduler"] = sched
    exp = experiment([table], epochs=epochs)
    session = session_at(exp, t)
    command = SetGroupOptions(run=0, group=0, options={"lr": lr}, rebase=rebase)
    session.submit(command)
    session.step()
    run = session.runs[0]
    assert run.before_commands[0] == t
    before = predict_from(exp, 0, run.before_commands[1], t)
    after_here = predict_from(exp, 0, run.schedule_state(), t + 1)
    after_commands = predict_from(exp, 0, run.before_commands[1], t, commands=[command])
    (trained,) = session.snapshot()
    cfg = exp.runs[0].scheduler
    one = edit_effect(before, after_here, 0, t, cfg, SPE, edited_lr=trained.step_lr[t, 0])
    other = edit_effect(before, after_commands, 0, t, cfg, SPE)
    assert one == other
    return one


COSINE = {"type": "CosineAnnealingLR", "T_max": 10}


def test_cosine_annealing_drops_an_edit_at_t_max():
    assert effect(COSINE, 3 * SPE + 2, 0.03) == "dropped at epoch 10 (T_max)"
    # counted in steps, past T_max: the cosine is back at eta_min at every odd multiple of T_max
    assert effect({**COSINE, "interval": "step"}, 14, 0.03) == "dropped at step 30 (3 × T_max)"


def test_cosine_annealing_with_a_high_eta_min_fades():
    """The only fading in torch 2.13: CosineAnnealingLR pulls (lr - eta_min) towards 0 by the same
    factor for both schedules, so with eta_min close to the lr the difference has all but gone
    before both land exactly on eta_min at T_max. (With eta_min = 0 the ratio stays: dropped.)"""
    assert effect({**COSINE, "eta_min": 0.09}, 3 * SPE + 2, 0.03) == \
        "fades: rejoins the original schedule at epoch 10 (T_max)"
    assert FADED == 0.1


def test_cosine_annealing_drives_an_lr_below_eta_min_negative_on_its_way_up():
    """Past T_max the cosine climbs by multiplying (lr - eta_min): below eta_min, that goes down, here
    below 0 (step 16) and back up to eta_min exactly at 3 x T_max. torch trains on with the negative
    lrs (gradient ascent) and so does the engine, noting the step the lr turns negative."""
    sched = {**COSINE, "eta_min": 0.09, "interval": "step"}
    assert effect(sched, 14, 0.03) == "fades: rejoins the original schedule at step 30 (3 × T_max)"
    exp = experiment([{"optimizer": SGD, "scheduler": sched, "edits": [{"step": 14, "lr": 0.03}]}], epochs=EPOCHS)
    session, (trained,) = train(exp)

    def edit(t, optimizer):
        if t == 14:
            optimizer.param_groups[0]["lr"] = 0.03

    def cosine(optimizer):
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10, eta_min=0.09)

    reference = plain_train(lambda model: torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), epochs=EPOCHS,
                            interval="step", before=edit, make_scheduler=cosine)
    assert session.runs[0].status == RunStatus.FINISHED
    assert trained.step_lr[:, 0].tolist() == [lrs[0] for lrs in reference.lrs]
    assert trained.step_loss.tolist() == reference.losses
    assert reference.lrs[15][0] > 0 > reference.lrs[16][0] and reference.lrs[30][0] == 0.09
    assert [(e.step, e.kind) for e in trained.events if e.kind == "note"] == [(16, "note")]


def test_closed_form_schedulers_overwrite_an_edit_at_their_next_step():
    assert effect({"type": "LambdaLR", "lr_lambda": "0.95 ** epoch"}, 3 * SPE + 2, 0.03) == \
        "overwritten at the next scheduler step (epoch 4)"
    assert effect({"type": "LambdaLR", "lr_lambda": "0.95 ** epoch", "interval": "step"}, 14, 0.03) == \
        "overwritten at the next step"
    assert effect(scheduler("OneCycleLR", "step"), 14, 0.03) == "overwritten at the next step"
    assert effect(scheduler("CyclicLR", "step"), 14, 0.03) == "overwritten at the next step"
    assert effect(scheduler("CosineAnnealingWarmRestarts", "epoch"), 14, 0.03) == \
        "overwritten at the next scheduler step (epoch 4)"
    # rebase scales the base lrs: the closed form goes on from the edit
    assert effect({"type": "LambdaLR", "lr_lambda": "0.95 ** epoch"}, 14, 0.03, rebase=True) == "kept"


def test_chainable_schedulers_keep_an_edit():
    assert effect({"type": "StepLR", "step_size": 5, "gamma": 0.5}, 3 * SPE + 2, 0.03) == "kept"
    assert effect({"type": "ExponentialLR", "gamma": 0.9, "interval": "step"}, 14, 0.03) == "kept"
    assert effect({"type": "MultiStepLR", "milestones": [3, 7, 20], "gamma": 0.5}, 14, 0.03) == "kept"


def test_schedulers_that_end_or_switch_drop_an_edit():
    assert effect(scheduler("PolynomialLR", "epoch"), 14, 0.03) == "dropped at epoch 20 (total_iters)"
    # at a milestone SequentialLR restarts the next scheduler from the base lrs
    assert effect({"type": "SequentialLR", "milestones": [8], "schedulers": [
        {"type": "ExponentialLR", "gamma": 0.9}, {"type": "ExponentialLR", "gamma": 0.8}]}, 14, 0.03) == \
        "dropped at epoch 8 (milestones)"
    assert effect({"type": "SequentialLR", "milestones": [5], "schedulers": [
        {"type": "ExponentialLR", "gamma": 0.9}, {**COSINE, "T_max": 10}], "interval": "step"}, 12, 0.03) == \
        "dropped at step 15 (T_max = 10 after the milestone at 5)"


def test_without_a_scheduler_an_edit_is_kept_through_manual_decay_until_an_edit_sets_the_lr():
    assert effect(None, 14, 0.03, manual={"every": 7, "factor": 0.5}) == "kept"
    assert effect(None, 14, 0.03, manual={"every": 7, "factor": 0.5}, edits=[{"epoch": 20, "lr": 0.01}]) == \
        "overwritten by the scheduled edit at epoch 20"


def test_an_edit_to_the_same_value_and_one_at_the_last_step():
    assert effect({"type": "StepLR", "step_size": 5}, 14, 0.1) == "no effect: the lr already had that value"
    assert effect({"type": "StepLR", "step_size": 5}, 2 * SPE - 1, 0.03, epochs=2) == \
        "the run ends before the next step"


def test_reduce_lr_on_plateau_says_what_no_prediction_can_know():
    note = effect(CONFIGS["ReduceLROnPlateau"], 14, 0.03, groups=[{"module": "layer", "lr": 0.1}])
    assert note == PLATEAU_EFFECT and "only training shows" in note


def test_edit_effect_needs_predictions_from_the_edited_step():
    exp = experiment([{"optimizer": SGD}], epochs=3)
    session = session_at(exp, 4)
    state = session.runs[0].schedule_state()
    prediction = predict_from(exp, 0, state, 4)
    with pytest.raises(ValueError):
        edit_effect(prediction, predict_from(exp, 0, state, 5), 0, 4, None, SPE)  # no edited_lr
    with pytest.raises(ValueError):
        edit_effect(predict_from(exp, 0, state, 5), prediction, 0, 4, None, SPE)
    assert np.isnan(prediction.results.step_lr).sum() == 0
