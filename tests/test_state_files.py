"""State files are trusted no further than they fit: each tampered file is refused at load.

Every tampered file here is made from a real saved state (a tiny experiment trained into
its fourth epoch, then ``torch.load(weights_only=True)`` -> one field changed ->
``torch.save``, or bytes flipped in the file), and must be refused by ``load_state`` or
``TrainingSession(experiment, state=...)`` with a :class:`StateFileError` saying the state
"does not fit" and why, before anything trains; the CLI exits 2 with that one line. A valid
state still resumes to exactly the results of a straight run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

import main as main_py
from engine.checkpoint import load_state, save_state
from engine.commands import AddGroup
from engine.config import GroupConfig
from engine.errors import StateFileError
from engine.files import dumps_experiment
from engine.results import write_results
from engine.session import TrainingSession
from tests.cli_helpers import main_in_process
from tests.engine_helpers import experiment

ROOT = Path(__file__).resolve().parent.parent

RUNS = [
    {"name": "sgd", "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}, "groups": [{"module": "layer"}],
     "scheduler": {"type": "StepLR", "step_size": 2, "gamma": 0.5},
     "edits": [{"epoch": 1, "add_group": {"module": "layer2", "lr": 0.05}}, {"epoch": 2, "lr": 0.05}]},
    {"name": "adam", "optimizer": {"type": "Adam", "lr": 0.01}},
    {"name": "onecycle", "optimizer": {"type": "AdamW", "lr": 0.01},
     "scheduler": {"type": "OneCycleLR", "max_lr": 0.1}},  # no total_steps: derived from epochs
]
EPOCHS = 6
STEPS_PER_EPOCH = 4  # 64 training samples, batches of 16
SAVED_AT = 3 * STEPS_PER_EPOCH + 1  # inside epoch 3: the batch order and loss sum are in the state


def make(epochs=EPOCHS, runs=RUNS):
    return experiment(runs, epochs=epochs, samples=80, batch_size=16, val_fraction=0.2, model="bottleneck")


def with_edits(run: int, edits: list) -> list:
    runs = [dict(r) for r in RUNS]
    runs[run] = dict(runs[run], edits=edits)
    return [{k: v for k, v in r.items() if v != []} for r in runs]


@pytest.fixture(scope="module")
def exp():
    return make()


@pytest.fixture(scope="module")
def saved(exp, tmp_path_factory) -> Path:
    """A real state: the experiment trained to step 13 (inside epoch 3) and saved."""
    session = TrainingSession(exp)
    session.run(max_steps=SAVED_AT)
    assert session.position == SAVED_AT and session.steps_per_epoch == STEPS_PER_EPOCH
    path = tmp_path_factory.mktemp("state") / "state.pt"
    save_state(session, path)
    return path


def tampered(saved: Path, tmp_path: Path, change) -> Path:
    state = torch.load(saved, weights_only=True)
    change(state)
    path = tmp_path / "tampered.pt"
    torch.save(state, path)
    return path


def refusal(path: Path, exp) -> str:
    with pytest.raises(StateFileError) as info:
        TrainingSession(exp, state=load_state(path))
    message = str(info.value)
    assert "does not fit" in message
    return message


def csv_files(session, directory: Path) -> dict[str, str]:
    write_results(session.snapshot(), directory)
    return {p.name: p.read_text() for p in directory.iterdir()}


# -- a valid state ------------------------------------------------------------------------------

def test_a_valid_state_still_resumes_to_a_straight_run_byte_for_byte(exp, saved, tmp_path):
    straight = TrainingSession(exp)
    straight.run()
    resumed = TrainingSession(exp, state=load_state(saved))
    assert resumed.position == SAVED_AT
    resumed.run()
    assert csv_files(resumed, tmp_path / "a") == csv_files(straight, tmp_path / "b")


def test_edits_at_or_after_the_saved_position_are_accepted(saved):
    later = make(runs=with_edits(1, [{"epoch": 4, "lr": 0.02}, {"step": SAVED_AT, "lr": 0.03}]))
    session = TrainingSession(later, state=load_state(saved))
    assert session.position == SAVED_AT


# -- item 12: a damaged file ----------------------------------------------------------------------

def test_a_file_whose_checksum_does_not_fit_its_data_is_refused_as_damaged(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    weights = torch.load(saved, weights_only=True)["runs"][1]["model"]["layer.weight"]
    where = data.find(weights.numpy().tobytes())
    assert where > 0
    data[where:where + 64] = bytes(b ^ 0x5A for b in data[where:where + 64])  # 64 flipped bytes
    path = tmp_path / "damaged.pt"
    path.write_bytes(bytes(data))
    # torch itself reads it without complaint, and gets other weights: the checksum is the only witness
    assert not torch.equal(torch.load(path, weights_only=True)["runs"][1]["model"]["layer.weight"], weights)
    with pytest.raises(StateFileError, match=r"is damaged: the data of '.*' does not fit its checksum"):
        load_state(path)


# -- item 13: every field checked against the experiment ------------------------------------------

def _set(*keys, value):
    def change(state):
        target = state
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value(target[keys[-1]]) if callable(value) else value
    return change


def _delete(*keys):
    def change(state):
        target = state
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return change


def _recorder_rows(run: int, rows: slice | int):
    def change(state):
        recorder = state["runs"][run]["recorder"]
        for key in ("steps", "step_lr", "step_momentum"):
            table = recorder[key]
            recorder[key] = table[rows] if isinstance(rows, slice) else torch.cat([table, table[-rows:]])
    return change


R = ("runs",)
TAMPERED = {
    # the runs
    "runs emptied": (_set("runs", value=[]),
                     r"its runs is \[\], but the experiment has 3 runs: every run needs its state"),
    "runs shortened": (_set("runs", value=lambda runs: runs[:2]), r"3 runs: every run needs its state"),
    "a run renamed": (_set(*R, 1, "name", value="other"), r'its runs\[1\]\.name is "other", where the experiment '
                                                          r'has "adam"'),
    "a status outside the known set": (_set(*R, 1, "status", value="paused"),
                                       r'its runs\[1\]\.status is "paused", not one of running, finished'),
    "a run finished in the middle": (_set(*R, 1, "status", value="finished"),
                                     r"status is finished at step 13, before the end"),
    "an unknown entry in a run": (_set(*R, 1, "extra", value=1), r"its runs\[1\] holds 'extra'"),
    "a missing entry in a run": (_delete(*R, 1, "generator"), r"its runs\[1\] lacks generator"),
    # the position
    "a negative position": (_set("position", value=-1), r"its position is -1"),
    "a position that is a float": (_set("position", value=13.0), r"its position is 13\.0"),
    "a position past the saved experiment": (_set("position", value=25), r"past the end of the experiment it "
                                                                         r"was saved from"),
    "an unreadable experiment": (_set("experiment", value="{"), r"the experiment it holds is not readable"),
    # the param groups' modules
    "modules naming an unknown module": (_set(*R, 0, "modules", 1, value="layer3"),
                                         r'its runs\[0\]\.modules\[1\] is "layer3", not a module of the model'),
    "modules without a group added before the position": (
        _set(*R, 0, "modules", value=["layer"]),
        r'its runs\[0\]\.modules is \["layer"\], but the experiment\'s groups and the add_group edits before '
        r'the saved position \(step 13, in epoch 3\) give \["layer", "layer2"\]'),
    "modules a huge list": (_set(*R, 0, "modules", value=["layer"] * 10**6), r"modules is a list of 1000000"),
    # the model
    "a model key renamed": (_set(*R, 1, "model", value=lambda m: {k.replace("layer2.", "layer3."): v
                                                                   for k, v in m.items()}),
                            r"its runs\[1\]\.model lacks layer2\.weight"),
    "a model tensor of the wrong shape": (_set(*R, 1, "model", "layer.weight", value=torch.zeros(3, 10)),
                                          r"layer\.weight is a float32 tensor of shape \(3, 10\): expected shape "
                                          r"\(2, 10\)"),
    "a model tensor of the wrong dtype": (_set(*R, 1, "model", "layer.bias", value=lambda t: t.double()),
                                          r"layer\.bias is a float64 tensor .*: expected a float32 tensor"),
    # the optimizer
    "a momentum buffer of the wrong shape": (
        _set(*R, 0, "optimizer", "state", 0, "momentum_buffer", value=torch.zeros(1)),
        r"its runs\[0\]\.optimizer\.state\[0\]\.momentum_buffer is a float32 tensor of shape \(1,\): "
        r"expected shape \(2, 10\)"),
    "a momentum buffer that would broadcast": (
        _set(*R, 0, "optimizer", "state", 1, "momentum_buffer", value=torch.zeros(2, 2)),
        r"state\[1\]\.momentum_buffer is a float32 tensor of shape \(2, 2\): expected shape \(2,\)"),
    "an lr that is a string": (_set(*R, 1, "optimizer", "param_groups", 0, "lr", value="0.01"),
                               r'its runs\[1\]\.optimizer\.param_groups\[0\]\.lr is "0\.01": expected a number'),
    "an option out of the registry's range": (
        _set(*R, 1, "optimizer", "param_groups", 0, "weight_decay", value=-1.0),
        r"its runs\[1\]\.optimizer\.param_groups\[0\]\.weight_decay: "),
    "a boolean option changed": (_set(*R, 1, "optimizer", "param_groups", 0, "amsgrad", value=True),
                                 r"amsgrad is true, where this experiment has false"),
    "a param group missing": (_set(*R, 0, "optimizer", "param_groups", value=lambda groups: groups[:1]),
                              r"param_groups is a list of 1 item: expected 2 groups"),
    "a param group's parameters renumbered": (
        _set(*R, 0, "optimizer", "param_groups", 1, "params", value=[3, 2]),
        r"param_groups\[1\]\.params is \[3, 2\], where the model gives \[2, 3\]"),
    "an optimizer state lacking a key": (_delete(*R, 1, "optimizer", "state", 0, "exp_avg_sq"),
                                         r"its runs\[1\]\.optimizer\.state\[0\] lacks exp_avg_sq"),
    "an optimizer state for a parameter that does not exist": (
        _set(*R, 1, "optimizer", "state", 99, value={}), r"optimizer\.state has an entry for parameter 99"),
    "an optimizer state emptied": (_set(*R, 1, "optimizer", "state", value={}),
                                   r"optimizer\.state has nothing for parameter 0"),
    "a step count that is not a tensor": (_set(*R, 1, "optimizer", "state", 0, "step", value=13),
                                          r"state\[0\]\.step is 13: expected a plain tensor"),
    # the scheduler
    "a scheduler entry missing": (_delete(*R, 0, "scheduler", "last_epoch"), r"scheduler lacks last_epoch"),
    "a scheduler counter off the position": (_set(*R, 0, "scheduler", "last_epoch", value=1),
                                             r"scheduler\.last_epoch is 1, but a run at the saved position "
                                             r"\(step 13, in epoch 3\) has stepped its scheduler 3 times"),
    "a scheduler list of the wrong length": (_set(*R, 0, "scheduler", "base_lrs", value=[0.1]),
                                             r"scheduler\.base_lrs is \[0\.1\]: expected a list of 2"),
    "a scheduler where the experiment has none": (_set(*R, 1, "scheduler", value={"last_epoch": 3}),
                                                  r"where the experiment has no scheduler"),
    # the batch order and the epoch so far
    "a generator state cut short": (_set(*R, 1, "generator", value=lambda g: g[:100]),
                                    r"generator is a uint8 tensor of shape \(100,\): expected shape"),
    "a permutation that is not one": (_set(*R, 1, "perm", value=lambda p: torch.zeros_like(p)),
                                      r"perm is not an order of the 64 training samples"),
    "no permutation inside an epoch": (_set(*R, 1, "perm", value=None), r"perm is missing: a run in the middle "
                                                                         r"of an epoch"),
    "a loss sum that is not finite": (_set(*R, 1, "loss_sum", value=float("nan")), r"loss_sum is nan"),
    "epoch lrs that are not numbers": (_set(*R, 1, "epoch_lrs", value=["x"]), r"epoch_lrs is \[\"x\"\]"),
    "a gradient check of a group that does not exist": (_set(*R, 1, "gradient_checked", value=[5]),
                                                        r"gradient_checked is \[5\]"),
    "a recorded command that is not an edit": (_set(*R, 1, "recorded_edits", value=[{"step": 2, "lr": "x"}]),
                                               r"its runs\[1\]\.recorded_edits\[0\]\.lr: "),
    "a recorded command after the position": (_set(*R, 1, "recorded_edits", value=[{"step": 20, "lr": 0.1}]),
                                               r"recorded_edits\[0\] applies at step 20"),
    # the results so far
    "a recorder with fewer steps than the position": (
        _recorder_rows(1, slice(0, 10)),
        r"its runs\[1\]\.recorder\.steps has 10 rows, but a run training at the saved position \(step 13, in "
        r"epoch 3\) has recorded 13, one per step"),
    "a recorder with more steps than the position": (_recorder_rows(1, 2), r"recorder\.steps has 15 rows"),
    "a recorder with a huge group count": (_set(*R, 0, "recorder", "groups", value=1e7),
                                           r"its runs\[0\]\.recorder\.groups is 10000000\.0, but the run has 2 "
                                           r"param groups"),
    "a recorder with another group count": (_set(*R, 0, "recorder", "groups", value=3),
                                            r"recorder\.groups is 3, but the run has 2 param groups"),
    "a recorder whose lr columns do not fit": (_set(*R, 0, "recorder", "step_lr", value=lambda t: t[:, :1]),
                                               r"recorder\.step_lr is a float64 tensor of shape \(13, 1\): "
                                               r"expected shape \(13, 2\)"),
    "a recorder whose steps are renumbered": (_set(*R, 1, "recorder", "steps", value=lambda t: t.flip(0)),
                                              r"recorder\.steps does not number the steps 0 to 12"),
    "a recorder with fewer epochs": (_set(*R, 1, "recorder", "epochs", value=lambda t: t[:1]),
                                     r"recorder\.epochs has 1 rows, but the run has recorded 13 steps"),
    "a malformed event": (_set(*R, 0, "recorder", "events", value=lambda e: [*e, [1, 2]]),
                          r"recorder\.events\[\d+\] is \[1, 2\]: expected \[step, epoch, kind, group, detail\]"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_a_state_field_that_does_not_fit_is_refused_with_the_reason(case, exp, saved, tmp_path):
    change, reason = TAMPERED[case]
    message = refusal(tampered(saved, tmp_path, change), exp)
    assert re.search(reason, message), message


# -- item 14: the experiment changed the past the state was trained with --------------------------

def test_an_edit_added_before_the_saved_position_is_refused_and_named(saved):
    added = make(runs=with_edits(1, [{"epoch": 1, "lr": 0.02}]))
    assert refusal(saved, added) == (
        "the state does not fit this experiment: runs[1].edits[0] (epoch 1) lies before the saved position "
        "(step 13, in epoch 3): the state was trained without it")


def test_an_edit_removed_before_the_saved_position_is_refused_and_named(saved):
    removed = make(runs=with_edits(0, [RUNS[0]["edits"][0]]))
    assert refusal(saved, removed).endswith(
        "runs[0].edits lacks {epoch = 2, lr = 0.05}, which lies before the saved position (step 13, in epoch 3): "
        "the state was trained with it")


def test_an_edit_changed_before_the_saved_position_is_refused_and_named(saved):
    changed = make(runs=with_edits(0, [RUNS[0]["edits"][0], {"epoch": 2, "lr": 0.02}]))
    assert refusal(saved, changed).endswith(
        "runs[0].edits[1] (epoch 2) lies before the saved position (step 13, in epoch 3): the state was "
        "trained without it (it was trained with {epoch = 2, lr = 0.05} there)")


def test_a_future_add_group_of_a_module_a_command_already_added_is_refused(tmp_path):
    runs = [{"name": "a", "optimizer": {"type": "SGD", "lr": 0.1}, "groups": [{"module": "layer"}]}]
    session = TrainingSession(make(runs=runs))
    session.run(max_steps=5)
    session.submit(AddGroup(run=0, group=GroupConfig(module="layer2", options={"lr": 0.01})))
    session.run(max_steps=2)
    save_state(session, tmp_path / "s.pt")
    state = load_state(tmp_path / "s.pt")
    # the command saved into the experiment (as the window does) is the same group: accepted
    same = [dict(runs[0], edits=[{"step": 5, "add_group": {"module": "layer2", "lr": 0.01}}])]
    assert TrainingSession(make(runs=same), state=state).runs[0].modules == ["layer", "layer2"]
    again = [dict(runs[0], edits=[{"epoch": 4, "add_group": {"module": "layer2"}}])]
    assert refusal(tmp_path / "s.pt", make(runs=again)).endswith(
        "runs[0].edits[0] (epoch 4) adds a param group for layer2, which the state already trains (a group "
        "added by a command before the saved position)")


# -- item 15: a length derived from epochs ---------------------------------------------------------

ONECYCLE_REASON = ("runs[2].scheduler: OneCycleLR's total_steps was derived from epochs = 6 (total_steps = 24); "
                   "resuming with epochs = 8 (total_steps = 32) would not equal a straight run: keep epochs = 6 "
                   "to resume this state, or set total_steps explicitly and train from the start")


def test_a_scheduler_length_derived_from_changed_epochs_is_refused(saved):
    assert refusal(saved, make(epochs=8)) == f"the state does not fit this experiment: {ONECYCLE_REASON}"


def test_the_derived_length_is_asked_of_the_registry_not_of_type_names():
    from engine.registry import SCHEDULERS

    assert SCHEDULERS["OneCycleLR"].length_option == "total_steps"
    assert {name for name, spec in SCHEDULERS.items() if spec.length_option} == {"OneCycleLR"}


def test_a_derived_length_nested_in_sequentiallr_is_refused_too(tmp_path):
    runs = [{"name": "seq", "optimizer": {"type": "SGD", "lr": 0.1}, "scheduler": {
        "type": "SequentialLR", "milestones": [2], "schedulers": [
            {"type": "ConstantLR", "factor": 0.5, "total_iters": 2}, {"type": "OneCycleLR", "max_lr": 0.1}]}}]
    session = TrainingSession(make(epochs=3, runs=runs))
    session.run(max_steps=5)
    save_state(session, tmp_path / "s.pt")
    message = refusal(tmp_path / "s.pt", make(epochs=5, runs=runs))
    assert "runs[0].scheduler.schedulers[1]: OneCycleLR's total_steps was derived from epochs = 3" in message


# -- the command line: exit 2, one line, nothing trained or written ---------------------------------

def test_the_cli_refuses_a_state_that_does_not_fit_with_exit_2(saved, tmp_path, capsys):
    (tmp_path / "longer.toml").write_text(dumps_experiment(make(epochs=8)))
    code = main_py.main(["run", str(tmp_path / "longer.toml"), "--resume", str(saved), "--out",
                         str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"error: the state does not fit this experiment: {ONECYCLE_REASON}\n"
    assert not (tmp_path / "out").exists()


def test_the_cli_refuses_a_huge_group_count_at_once_instead_of_hanging(exp, saved, tmp_path):
    (tmp_path / "exp.toml").write_text(dumps_experiment(exp))
    path = tampered(saved, tmp_path, _set(*R, 0, "recorder", "groups", value=1e7))
    result = main_in_process("run", tmp_path / "exp.toml", "--resume", path, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: the state does not fit this experiment: its runs[0].recorder.groups is 10000000.0, but the run "
        "has 2 param groups"]
    assert not (tmp_path / "out").exists()


# -- no false refusals: real states of every optimizer and of the schedulers, edits and statuses -----

OPTIMIZER_OPTIONS = {"SGD": {"lr": 0.1, "momentum": 0.9, "nesterov": True}, "Adam": {"lr": 0.01, "amsgrad": True},
                     "AdamW": {"lr": 0.01}, "Adamax": {"lr": 0.01}, "NAdam": {"lr": 0.01}, "RAdam": {"lr": 0.01},
                     "RMSprop": {"lr": 0.01, "momentum": 0.5, "centered": True}, "Rprop": {"lr": 0.01},
                     "Adagrad": {"lr": 0.1}, "Adadelta": {"lr": 1.0}, "ASGD": {"lr": 0.01},
                     "Adafactor": {"lr": 0.01}, "LBFGS": {"lr": 0.5, "max_iter": 3}}


def resumed_equals_straight(runs, tmp_path, *, epochs=4, saved_at=5, commands=(), more_epochs=0, model="bottleneck"):
    def build(n):
        return experiment(runs, epochs=n, samples=80, batch_size=16, val_fraction=0.2, model=model)

    first = TrainingSession(build(epochs))
    first.run(max_steps=saved_at)
    straight = TrainingSession(build(epochs + more_epochs))
    straight.run(max_steps=saved_at)
    for session in (first, straight):
        for command in commands:
            session.submit(command)
    first.run(max_steps=1)
    save_state(first, tmp_path / "s.pt")
    resumed = TrainingSession(build(epochs + more_epochs), state=load_state(tmp_path / "s.pt"))
    resumed.run()
    straight.run()
    assert csv_files(resumed, tmp_path / "a") == csv_files(straight, tmp_path / "b")
    return resumed


def test_every_optimizer_registered_is_covered_here():
    from engine.registry import OPTIMIZERS

    assert set(OPTIMIZER_OPTIONS) == {name for name, spec in OPTIMIZERS.items() if not spec.unsupported}


@pytest.mark.parametrize("name", sorted(OPTIMIZER_OPTIONS))
def test_a_real_state_of_every_optimizer_is_accepted_and_resumes_exactly(name, tmp_path):
    runs = [{"name": "all", "optimizer": {"type": name, **OPTIMIZER_OPTIONS[name]}}]
    if name != "LBFGS":  # one group, then a second added mid-run; layer2 gets no gradient in "article"
        runs.append({"name": "groups", "optimizer": {"type": name, **OPTIMIZER_OPTIONS[name]},
                     "groups": [{"module": "layer"}], "edits": [{"epoch": 1, "add_group": {"module": "layer2"}}]})
    resumed_equals_straight(runs, tmp_path, model="article")


def test_real_states_of_schedulers_edits_commands_and_ended_runs_are_accepted(tmp_path):
    from engine.commands import SetGroupOptions, StopRun

    sgd = {"type": "SGD", "lr": 0.1, "momentum": 0.9}
    schedulers = [{"type": "MultiplicativeLR", "lr_lambda": "0.9"}, {"type": "ConstantLR"}, {"type": "LinearLR"},
                  {"type": "ExponentialLR", "gamma": 0.9}, {"type": "PolynomialLR", "total_iters": 3},
                  {"type": "CosineAnnealingLR", "T_max": 3}, {"type": "StepLR", "step_size": 2, "interval": "step"},
                  {"type": "ChainedScheduler", "schedulers": [{"type": "ConstantLR"},
                                                              {"type": "ExponentialLR", "gamma": 0.9}]},
                  {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3},
                  {"type": "ReduceLROnPlateau", "monitor": "train_loss", "patience": 0}]
    runs = [{"name": s["type"] + str(i), "optimizer": sgd, "scheduler": s,
             "edits": [{"epoch": 1, "lr": 0.05, "rebase": True}]} for i, s in enumerate(schedulers)]
    runs += [{"name": "momentum on", "optimizer": {"type": "SGD", "lr": 0.1}, "edits": [{"epoch": 1, "momentum": 0.9}]},
             {"name": "momentum off", "optimizer": sgd, "edits": [{"epoch": 1, "momentum": 0}]},
             {"name": "diverges", "optimizer": {"type": "SGD", "lr": 100.0}},
             {"name": "stopped", "optimizer": sgd}, {"name": "commanded", "optimizer": sgd}]
    commands = [StopRun(run=len(runs) - 2), SetGroupOptions(run=len(runs) - 1, group=0, options={"lr": 0.02})]
    resumed = resumed_equals_straight(runs, tmp_path, commands=commands, more_epochs=2)
    assert [r.status for r in resumed.runs][-3:] == ["diverged", "stopped", "finished"]


def test_a_finished_state_resumes_with_more_epochs(tmp_path):
    runs = [{"name": "a", "optimizer": {"type": "Adam", "lr": 0.01}, "scheduler": {"type": "StepLR", "step_size": 2}},
            {"name": "b", "optimizer": {"type": "AdamW", "lr": 0.01},
             "scheduler": {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 40}}]
    resumed_equals_straight(runs, tmp_path, saved_at=100, more_epochs=2)


def test_the_readme_shows_the_refusal_of_a_derived_length_as_the_cli_prints_it(tmp_path):
    runs = [{"name": "onecycle", "optimizer": {"type": "AdamW", "lr": 0.01},
             "scheduler": {"type": "OneCycleLR", "max_lr": 0.1}}]
    session = TrainingSession(make(epochs=3, runs=runs))
    session.run()
    save_state(session, tmp_path / "s.pt")
    message = refusal(tmp_path / "s.pt", make(epochs=6, runs=runs))
    assert f"\nerror: {message}\n" in (ROOT / "README.md").read_text()


def test_a_state_that_cannot_be_written_leaves_no_partial_file_and_says_oserror(exp, tmp_path, monkeypatch):
    session = TrainingSession(exp)
    session.run(max_steps=2)

    def full_disk(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"half")
        raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError, match="cannot write .*state.pt"):
        save_state(session, tmp_path / "state.pt")
    assert list(tmp_path.iterdir()) == []
