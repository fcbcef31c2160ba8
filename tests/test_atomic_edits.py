"""An edit applies whole or not at all, and is recorded only once it has applied (issue 9).

An options edit is checked whole before any of it touches ``param_groups``: each option by the
registry, the group and its options, then what a rebase scales. A refused one leaves the run
exactly as it was and is not recorded, so the recorded edits replay (straight, or resumed from a
saved state) bit for bit. What only torch's constructor refuses (SGD's nesterov without momentum)
is not refused: torch does not check ``param_groups`` and steps with it, and so does the run,
with a note saying so (tested against a plain torch loop).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import engine.schedulers as schedulers
from engine.checkpoint import load_state, save_state
from engine.commands import AddGroup, SetGroupOptions
from engine.config import GroupConfig
from engine.errors import ExperimentError
from engine.model import make_dataset
from engine.run import RunTrainer
from engine.session import TrainingSession
from engine.status import RunStatus, SessionState
from engine.worker import Worker
from tests.engine_helpers import experiment

NESTEROV = {"type": "SGD", "lr": 0.1, "momentum": 0.9, "nesterov": True}
SPE = 4  # steps per epoch of these experiments (128 samples, batches of 32)


def nesterov_run(**run):
    return {"name": "nesterov", "optimizer": NESTEROV, "groups": [{"module": "layer", "lr": 0.1}],
            "scheduler": {"type": "LambdaLR", "lr_lambda": "0.95 ** epoch"}, **run}


def make(epochs=12, **run):
    return experiment([nesterov_run(**run)], epochs=epochs, model="bottleneck")


def groups_of(run) -> list[dict]:
    return [{k: v for k, v in g.items() if k != "params"} for g in run.optimizer.param_groups]


def trainer_at(exp, t: int) -> RunTrainer:
    """Run 0 of ``exp`` trained on its own up to (not including) step ``t``."""
    run = RunTrainer(exp, 0, make_dataset(exp.model, exp.seed, exp.data))
    for step in range(t):
        run.step(step)
    return run


@pytest.mark.parametrize("group, options, words", [
    (0, {"lr": 0.05, "momentum": -1.0}, "momentum"),
    (0, {"lr": 0.05, "weight_decay": 0.01, "momentum": -1.0}, "momentum"),
    (3, {"lr": 0.05, "weight_decay": 0.01}, "expected a group index from 0 to 0"),
], ids=["out-of-range", "third-option", "no-such-group"])
def test_a_multi_option_edit_with_one_bad_option_changes_nothing_and_is_not_recorded(group, options, words):
    run = trainer_at(make(), 6)
    before, scheduler_before = groups_of(run), run.scheduler.state_dict()
    run.step(6, [SetGroupOptions(run=0, group=group, options=options, rebase=True)])
    assert groups_of(run) == before  # step 6 is inside an epoch: the schedule has not moved either
    assert run.recorder.snapshot().step_lr[6, 0] == before[0]["lr"] == 0.1 * 0.95  # not 0.05
    assert run.scheduler.base_lrs == scheduler_before["base_lrs"] and run.recorded_edits == []
    (rejected,) = [e for e in run.recorder.events if e.kind == "rejected"]
    assert rejected.step == 6 and words in rejected.detail
    assert not [e for e in run.recorder.events if e.kind == "edit"]
    assert run.status == RunStatus.RUNNING  # the run trains on without it


def test_an_edit_of_another_option_applies_while_the_schedule_holds_the_lr_below_zero():
    """torch's constructor refuses a negative lr, but a negative lr from a schedule trains on (as in
    torch): an edit that does not set the lr is checked with the lr as configured."""
    exp = experiment([{"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
                       "scheduler": {"type": "LambdaLR", "lr_lambda": "1 - epoch / 4"}}], epochs=8)
    run = trainer_at(exp, 6 * SPE)
    assert run.optimizer.param_groups[0]["lr"] < 0
    run.step(6 * SPE, [SetGroupOptions(run=0, group=0, options={"momentum": 0.5})])
    assert run.optimizer.param_groups[0]["momentum"] == 0.5 and len(run.recorded_edits) == 1


def test_an_edit_only_torchs_constructor_refuses_trains_on_as_torch_does_with_a_note():
    """SGD(nesterov=True, momentum=0) raises in torch's constructor, but param_groups are not checked:
    torch steps with momentum 0 (plain SGD). The run does the same, bit for bit, and says so."""
    from tests.plain_torch import train as plain_train

    sgd = {"type": "SGD", "lr": 0.05, "momentum": 0.9, "nesterov": True}
    session = TrainingSession(experiment([{"optimizer": sgd}], epochs=4))
    session.run(max_steps=6)
    session.submit(SetGroupOptions(run=0, group=0, options={"momentum": 0.0}))  # not refused
    session.run()
    run = session.runs[0]
    (edit,) = run.recorded_edits
    assert run.status == RunStatus.FINISHED and edit.options == {"momentum": 0.0}
    (note,) = [e for e in run.recorder.events if e.kind == "note" and "would refuse" in e.detail]
    assert note.step == edit.step and "Nesterov momentum requires a momentum" in note.detail

    def before(t, optimizer):
        if t == edit.step:
            optimizer.param_groups[0]["momentum"] = 0.0

    reference = plain_train(lambda model: torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True),
                            epochs=4, before=before)
    assert session.snapshot()[0].step_loss.tolist() == reference.losses


def test_the_worker_sends_command_refused_with_the_reason():
    class Conn:
        def __init__(self):
            self.sent = []

        def send(self, message):
            self.sent.append(message)

    worker = Worker(Conn())
    worker.session, worker.state, worker.sent = TrainingSession(make()), SessionState.PAUSED, [(0, 0, 0)]
    command = SetGroupOptions(run=0, group=2, options={"lr": 0.05})  # the run has one group
    worker._on_command(command)
    (kind, refused, path, message), = worker.conn.sent
    assert (kind, refused, path) == ("command_refused", command, "group") and "from 0 to 0" in message
    good = SetGroupOptions(run=0, group=0, options={"lr": 0.05, "momentum": 0.5})
    worker.conn.sent.clear()
    worker._on_command(good)
    assert worker.conn.sent[0] == ("command_queued", good)


def test_a_scheduled_edit_only_torchs_constructor_refuses_applies_with_a_note():
    session = TrainingSession(make(edits=[{"epoch": 2, "lr": 0.05, "momentum": 0.0}]))
    session.run()
    run, (result,) = session.runs[0], session.snapshot()
    assert run.status == RunStatus.FINISHED
    (edit,) = [e for e in result.events if e.kind == "edit"]
    (note,) = [e for e in result.events if e.kind == "note" and "would refuse" in e.detail]
    assert edit.step == note.step == 2 * SPE and "Nesterov momentum requires a momentum" in note.detail
    assert run.optimizer.param_groups[0]["momentum"] == 0.0


def test_an_added_group_the_scheduler_cannot_adopt_leaves_the_optimizer_and_scheduler_as_they_were(monkeypatch):
    run = trainer_at(make(), 5)
    before, base_lrs, lambdas = groups_of(run), list(run.scheduler.base_lrs), list(run.scheduler.lr_lambdas)
    real = schedulers._value

    def fails_at_lr_lambda(spec, cfg, view, source, i):
        if source == "lr_lambda":  # after base_lrs' entry was planned
            raise RuntimeError("cannot adopt")
        return real(spec, cfg, view, source, i)

    monkeypatch.setattr(schedulers, "_value", fails_at_lr_lambda)
    run.step(5, [AddGroup(run=0, group=GroupConfig("layer2", {"lr": 0.02}))])
    assert groups_of(run) == before and run.modules == ["layer"]
    assert run.scheduler.base_lrs == base_lrs and run.scheduler.lr_lambdas == lambdas
    assert run.recorded_edits == [] and run.recorder.snapshot().step_lr.shape[1] == 1
    assert "cannot adopt" in [e for e in run.recorder.events if e.kind == "rejected"][0].detail


# -- what is recorded replays, straight or resumed, bit for bit ---------------------------------------
def same_results(a, b) -> None:
    assert a.step_loss.tobytes() == b.step_loss.tobytes()
    assert a.step_lr.tobytes() == b.step_lr.tobytes()
    assert np.array_equal(a.step_momentum, b.step_momentum, equal_nan=True)
    assert a.train_loss.tobytes() == b.train_loss.tobytes() and a.val_loss.tobytes() == b.val_loss.tobytes()
    kept = [e.as_tuple() for e in a.events if e.kind != "rejected"]
    assert kept == [e.as_tuple() for e in b.events if e.kind != "rejected"]


def test_recorded_edits_replay_and_resume_bit_for_bit(tmp_path):
    # a scheduled add_group at step 12 takes layer2 before the AddGroup command sent just before it
    # applies: that command is rejected at the step (not recorded), the others apply whole
    exp = make(epochs=8, edits=[{"step": 12, "add_group": {"module": "layer2", "lr": 0.01}}])
    live = TrainingSession(exp)
    live.run(max_steps=6)
    live.submit(SetGroupOptions(run=0, group=0, options={"lr": 0.05, "momentum": 0.8}, rebase=True))
    with pytest.raises(ExperimentError):
        live.submit(SetGroupOptions(run=0, group=4, options={"lr": 0.5, "momentum": 0.1}))  # no group 4
    live.run(max_steps=6)
    assert live.position == 12
    live.submit(AddGroup(run=0, group=GroupConfig("layer2", {"lr": 0.02})))
    live.run(max_steps=3)
    live.submit(SetGroupOptions(run=0, group=None, options={"lr": 0.03, "weight_decay": 0.001}))
    live.run(max_steps=2)
    save_state(live, tmp_path / "state.pt")
    live.run()
    run = live.runs[0]
    assert run.status == RunStatus.FINISHED
    assert [e.to_dict() for e in run.recorded_edits] == [
        {"step": 6, "group": 0, "lr": 0.05, "momentum": 0.8, "rebase": True},
        {"step": 15, "lr": 0.03, "weight_decay": 0.001}]
    (rejected,) = [e for e in live.snapshot()[0].events if e.kind == "rejected"]
    assert rejected.step == 12 and "already in a param group" in rejected.detail
    assert [g["weight_decay"] for g in run.optimizer.param_groups] == [0.001, 0.001]

    straight = TrainingSession(live.experiment_with_edits())
    straight.run()
    same_results(live.snapshot()[0], straight.snapshot()[0])

    resumed = TrainingSession(exp, state=load_state(tmp_path / "state.pt"))
    assert resumed.position == 17 and resumed.runs[0].recorded_edits == run.recorded_edits
    resumed.run()
    same_results(live.snapshot()[0], resumed.snapshot()[0])
