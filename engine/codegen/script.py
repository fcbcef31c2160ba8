"""The whole script: header, the article's ``Net``, the data, one ``train`` function per run, the CSVs.

Every line mirrors a step of :class:`engine.run.RunTrainer` in its order, so the script's
numbers are the engine's: the data as :func:`engine.model.make_dataset` draws it, the weights
as :func:`engine.model.build_model` seeds them, each epoch's batch order from the run's own
generator (:func:`engine.run.shuffle_seed`), then per epoch the manual decay, the edits due,
and per step the lrs recorded, the optimizer step, the loss, the scheduler.
"""

from __future__ import annotations

import textwrap

import torch

from ..config import Edit, Experiment, RunConfig
from ..registry import optimizer_spec
from ..scheduling import scheduler_steps
from .schedulers import SchedulerCode, scheduler_code
from .text import WIDTH, call, comment_text, literal

__all__ = ["script"]

# engine.run.shuffle_seed, written out in the script
ORDER_SEED = "(SEED * 6364136223846793005 + 1442695040888963407) % 2**63"


def _indent(lines: list[str], levels: int = 1) -> list[str]:
    return [("    " * levels + line) if line else "" for line in lines]


def _header(experiment: Experiment, runs: list[RunConfig]) -> list[str]:
    what = (f'the run "{comment_text(runs[0].name)}"' if len(runs) == 1
            else f"its {len(runs)} runs, one after another")
    title = comment_text(experiment.title) or "An lrlab experiment"
    text = (f"{title}: {what}, in plain PyTorch (written by lrlab's main.py code). `python THIS_FILE.py --csv "
            "DIR` writes the epochs.csv and steps.csv `main.py run` writes, byte for byte with torch "
            f"{torch.__version__.split('+')[0]} (not events.csv, lrlab's markers); without --csv it prints the "
            "epochs.csv rows.")
    return ["# " + line for line in textwrap.wrap(text, WIDTH - 2, break_on_hyphens=False)]


def _imports(schedulers: bool) -> list[str]:
    return ["import argparse", "import csv", "import math", "import os", "import sys", "",
            "import torch", "import torch.nn.functional as F", "from torch import nn",
            *(["from torch.optim import lr_scheduler"] if schedulers else [])]


def _constants(experiment: Experiment) -> list[str]:
    return [
        "torch.set_num_threads(1)  # lrlab trains on one thread: the same sums, in the same order",
        "",
        f"SEED = {experiment.seed}",
        f"EPOCHS = {experiment.epochs}",
        f"BATCH_SIZE = {experiment.data.batch_size}",
        f"ORDER_SEED = {ORDER_SEED}  # for the batch order",
        "FLOAT32_MAX = torch.finfo(torch.float32).max  # the largest lr float32 weights can be stepped with",
    ]


def _net(model: str) -> list[str]:
    forward = ("return self.layer(input)  # the article's forward: layer2 never gets a gradient"
               if model == "article" else
               "return self.layer2(torch.tanh(self.layer(input)))  # \"bottleneck\": both layers train")
    return [
        "class Net(nn.Module):",
        "    def __init__(self):",
        "        super().__init__()",
        "        self.layer = nn.Linear(10, 2)",
        "        self.layer2 = nn.Linear(2, 10)",
        "",
        "    def forward(self, input):",
        f"        {forward}",
    ]


def _data(experiment: Experiment) -> list[str]:
    data, n = experiment.data, experiment.data.n_train
    teacher = (["y = x @ w1 + b1"] if experiment.model == "article" else [
        "w2 = torch.randn(2, 10, generator=generator)",
        "b2 = torch.randn(10, generator=generator) * 0.5",
        "y = torch.tanh(x @ w1 * 2 + b1) @ w2 + b2"])
    split = ([f"x_val, y_val = x[{n}:], y[{n}:]  # {data.n_val} samples (val_fraction {literal(data.val_fraction)}) "
              "for the validation loss"] if data.n_val else [])
    return [
        '# The data: inputs x ~ N(0, 1), targets from a random "teacher" of the model\'s shape, plus noise.',
        "generator = torch.Generator().manual_seed(SEED)",
        f"x = torch.randn({data.samples}, 10, generator=generator)",
        "w1 = torch.randn(10, 2, generator=generator) / math.sqrt(10)",
        "b1 = torch.randn(2, generator=generator) * 0.5",
        *teacher,
        f"y = y + {literal(data.noise)} * torch.randn(y.shape, generator=generator)",
        f"x_train, y_train = x[:{n}], y[:{n}]",
        *split,
        "steps_per_epoch = math.ceil(len(x_train) / BATCH_SIZE)",
        "epoch_rows = [('run', 'epoch', 'group', 'lr', 'train_loss', 'val_loss')]  # epochs.csv",
        "step_rows = [('run', 'step', 'epoch', 'group', 'lr', 'loss')]  # steps.csv",
    ]


class _Run:
    """One run's ``train`` function, as lines."""

    def __init__(self, experiment: Experiment, run: RunConfig):
        self.experiment, self.run = experiment, run
        self.spec = optimizer_spec(run.optimizer.type)
        self.momentum_key = self.spec.momentum_key
        self.scheduler: SchedulerCode | None = None
        if run.scheduler is not None:
            steps = scheduler_steps(run.scheduler, experiment.epochs, experiment.steps_per_epoch)
            self.scheduler = scheduler_code(run.scheduler, steps)
        # the edits that apply within the run, in the engine's order, and each added group's index
        spe, total = experiment.steps_per_epoch, experiment.total_steps
        self.edits = [e for e in run.ordered_edits(spe) if e.at_step(spe) < total]
        self.added: dict[int, int] = {}
        groups = len(run.groups) if run.groups else 1
        for edit in self.edits:
            if edit.add_group is not None:
                self.added[id(edit)] = groups
                groups += 1

    # -- building ---------------------------------------------------------------------------
    def _group(self, module: str, options: dict) -> str:
        return "{" + ", ".join([f"'params': model.{module}.parameters()",
                                *(f"{k!r}: {literal(v)}" for k, v in options.items())]) + "}"

    def optimizer(self) -> list[str]:
        run, head = self.run, f"optimizer = torch.optim.{self.spec.name}"
        options = [f"{k}={literal(v)}" for k, v in run.optimizer.options.items()]
        if not run.groups:
            return call(head, ["model.parameters()", *options])
        groups = [self._group(g.module, g.options) for g in run.groups]
        line = f"{head}([{', '.join(groups)}]{''.join(', ' + o for o in options)})"
        if len(line) <= WIDTH - 4:
            return [line]
        return [f"{head}([", *(f"    {g}," for g in groups), f"]{''.join(', ' + o for o in options)})"]

    def _lr_is_float(self) -> bool:
        """Whether every initial group's lr is a float (the recorded lrs are; LBFGS's default is 1)."""
        groups = [g.options for g in self.run.groups] if self.run.groups else [{}]
        default = self.run.optimizer.options.get("lr", self.spec.params["lr"].default)
        return all(isinstance(g.get("lr", default), float) for g in groups)

    # -- edits --------------------------------------------------------------------------------
    def _edit(self, edit: Edit) -> list[str]:
        if edit.add_group is not None:
            return self._add_group(edit)
        s = self.scheduler
        rebase = s.rebase("g", "index" if edit.group is None else str(edit.group)) if edit.rebase and s else []
        sets = [f"g[{k!r}] = {literal(v)}" for k, v in edit.options.items()]
        if not rebase:
            if edit.group is None:
                return ["for g in optimizer.param_groups:", *_indent(sets)]
            return [line.replace("g[", f"optimizer.param_groups[{edit.group}][", 1) for line in sets]
        scaled = ["g['initial_lr'] *= ratio", *rebase]  # (a scheduler that rebases keeps initial_lr)
        body = ["old_lr = g['lr']", *sets,
                "if old_lr > 0:  # rebase: the schedule goes on from the edited lr",
                "    ratio = g['lr'] / old_lr", *_indent(scaled)]
        if edit.group is None:
            loop = ("index, g in enumerate(optimizer.param_groups)" if any("[index]" in line for line in rebase)
                    else "g in optimizer.param_groups")
            return [f"for {loop}:", *_indent(body)]
        return [f"g = optimizer.param_groups[{edit.group}]", *body]

    def _add_group(self, edit: Edit) -> list[str]:
        group = edit.add_group
        lines = [f"optimizer.add_param_group({self._group(group.module, group.options)})"]
        if self.scheduler is not None:
            index = self.added[id(edit)]
            lines += [f"# torch leaves a new group out of the scheduler: it joins {self.scheduler.cfg.type} "
                      "from its own lr", f"group = optimizer.param_groups[{index}]"]
            adopt = self.scheduler.adopt(index, self.momentum_key)
            if not adopt or not adopt[0].startswith("group['initial_lr'] = "):  # (OneCycleLR sets its own)
                lines.append("group['initial_lr'] = group['lr']")
            lines += adopt
        return lines

    def _edits_at(self, variable: str, edits: list[Edit], comment: str) -> list[str]:
        """``if <variable> == N:`` and the edits due then, for each N in order."""
        spe = self.experiment.steps_per_epoch
        lines: list[str] = []
        at = None
        for edit in edits:
            when = edit.epoch if variable == "epoch" else edit.at_step(spe)
            if when != at:
                at = when
                lines.append(f"if {variable} == {when}:" + (f"  # {comment}" if not lines else ""))
            lines += _indent(self._edit(edit))
        return lines

    # -- the loop -------------------------------------------------------------------------------
    def _manual(self) -> list[str]:
        manual = self.run.manual
        if manual is None:
            return []
        every, start = manual.every, manual.start
        if start == 0:
            condition = f"epoch % {every} == 0"
        elif start % every == 0:
            condition = f"epoch >= {start} and epoch % {every} == 0"
        else:
            condition = f"epoch >= {start} and (epoch - {start}) % {every} == 0"
        return [f"if {condition}:  # the article's manual decay",
                "    for g in optimizer.param_groups:",
                f"        g['lr'] *= {literal(manual.factor)}"]

    def _optimizer_step(self) -> list[str]:
        if self.spec.needs_closure:
            return ["def closure():  # LBFGS evaluates the loss and its gradient several times a step",
                    "    optimizer.zero_grad()",
                    "    loss = F.mse_loss(model(inputs), targets)",
                    "    loss.backward()",
                    "    return loss",
                    "",
                    "loss = optimizer.step(closure).item()"]
        return ["optimizer.zero_grad()",
                "loss = F.mse_loss(model(inputs), targets)",
                "loss.backward()",
                "optimizer.step()",
                "loss = loss.item()"]

    def _scheduler_step(self, when: str) -> list[str]:
        """The scheduler's step where the loop has reached ``when``: "epoch" or "step" (after the
        optimizer steps), or "epoch_start" or "step_start" (before them: step_order "scheduler_first")."""
        s = self.scheduler
        if s is None:
            return []
        interval = s.cfg.interval
        if s.cfg.scheduler_first:
            return self._scheduler_first(when, interval)
        if when.endswith("_start"):
            return []
        if when == "step" and interval == "step":
            return ["scheduler.step()  # interval \"step\": after every optimizer step"]
        if when == "step" and interval == "fractional":
            return ["scheduler.step(epoch + i / steps_per_epoch)  # interval \"fractional\": torch's per-batch idiom"]
        if when == "epoch" and interval == "epoch":
            if s.steps_with_metric:
                loss = s.cfg.monitor or "val_loss"
                words = "validation loss" if loss == "val_loss" else "training loss"
                return [f"scheduler.step({loss})  # {s.cfg.type} is stepped with the epoch's {words}"]
            return ["scheduler.step()  # after optimizer.step(): called before it, torch skips the first lr"]
        return []

    def _scheduler_first(self, when: str, interval: str) -> list[str]:
        """step_order "scheduler_first": the step before the optimizer's, where the mistake puts it."""
        if when == "epoch_start" and interval == "epoch":
            return ["# The mistake: scheduler.step() before this epoch's optimizer.step() calls. torch warns,",
                    "# and the schedule runs one step ahead: epoch 0 trains at the lr of its step 1.",
                    "scheduler.step()"]
        if when == "step_start" and interval == "step":
            return ["# The mistake: scheduler.step() before optimizer.step(). torch warns, and the schedule",
                    "# runs one step ahead: step 0 trains at the lr of its step 1.",
                    "scheduler.step()"]
        if when == "step_start" and interval == "fractional":
            return ["# scheduler.step() before optimizer.step(): told the epoch, it skips nothing (no warning)",
                    "scheduler.step(epoch + i / steps_per_epoch)"]
        return []

    def function(self, name: str) -> list[str]:
        epoch_edits = [e for e in self.edits if e.epoch is not None]
        step_edits = [e for e in self.edits if e.epoch is None]
        lrs = ("lrs = [g['lr'] for g in optimizer.param_groups]" if self._lr_is_float() else
               "lrs = [float(g['lr']) for g in optimizer.param_groups]  # lrlab records every lr as a float")
        step = [
            *self._scheduler_step("step_start"),
            "t = epoch * steps_per_epoch + i  # the optimizer step, counted over the whole run",
            *self._edits_at("t", step_edits, "edits at a step, before it"),
            lrs,
            "if not all(abs(lr) <= FLOAT32_MAX for lr in lrs):",
            "    return  # an lr float32 weights cannot take: lrlab stops the run (diverged)",
            "epoch_lrs += lrs[len(epoch_lrs):]  # each group's lr at its first step of the epoch",
            *self._optimizer_step(),
            "for group, lr in enumerate(lrs):",
            "    step_rows.append((name, t, epoch, group, lr, loss))",
            "if not math.isfinite(loss):",
            "    return  # diverged: lrlab stops the run here",
            "loss_sum += loss * len(inputs)",
            *self._scheduler_step("step"),
        ]
        validation = (["with torch.no_grad():", "    val_loss = F.mse_loss(model(x_val), y_val).item()"]
                      if self.experiment.data.n_val else ["val_loss = math.nan  # no validation set (val_fraction 0)"])
        check = ["if not math.isfinite(val_loss):", "    return  # diverged"] if self.experiment.data.n_val else []
        epoch = [
            *self._scheduler_step("epoch_start"),
            *self._manual(),
            *self._edits_at("epoch", epoch_edits, "edits of param_groups, before the epoch's first step"),
            "perm = torch.randperm(len(x_train), generator=order)  # a new batch order every epoch",
            "batches = zip(x_train[perm].split(BATCH_SIZE), y_train[perm].split(BATCH_SIZE))",
            "loss_sum, epoch_lrs = 0.0, []",
            "for i, (inputs, targets) in enumerate(batches):",
            *_indent(step),
            "train_loss = loss_sum / len(x_train)",
            *validation,
            "for group, lr in enumerate(epoch_lrs):  # (lrlab leaves a val_loss that is not a number empty)",
            "    epoch_rows.append((name, epoch, group, lr, train_loss, '' if math.isnan(val_loss) else val_loss))",
            *check,
            *self._scheduler_step("epoch"),
        ]
        scheduler = self.scheduler.build(self._groups()) if self.scheduler else []
        body = [
            "torch.manual_seed(SEED)  # the initial weights: the same in every run",
            "model = Net()",
            *self.optimizer(),
            *scheduler,
            "order = torch.Generator().manual_seed(ORDER_SEED)",
            "for epoch in range(EPOCHS):",
            *_indent(epoch),
        ]
        return [f"def {name}(name):", *_indent(body)]

    def _groups(self) -> int:
        return len(self.run.groups) if self.run.groups else 1


def _main(calls: list[tuple[str, str]]) -> list[str]:
    if len(calls) == 1:
        function, name = calls[0]
        train = ["try:", f"    {function}({literal(name)})"]
    else:
        train = ["for train, name in [", *(f"    ({f}, {literal(n)})," for f, n in calls), "]:",
                 "    try:", "        train(name)"]
    who = "the run" if len(calls) == 1 else "{name!r}"
    handler = ["except Exception as error:  # lrlab stops a run that fails inside torch, keeping its rows",
               f"    print(f'{who} failed: {{type(error).__name__}}: {{error}}', file=sys.stderr)"]
    return [
        "if __name__ == '__main__':",
        "    parser = argparse.ArgumentParser(description='Train as lrlab does; print the epochs.csv rows.')",
        "    parser.add_argument('--csv', metavar='DIR', help='write epochs.csv and steps.csv into DIR')",
        "    args = parser.parse_args()",
        *_indent(train),
        *_indent(handler, 1 if len(calls) == 1 else 2),
        "    if not args.csv:",
        "        csv.writer(sys.stdout, lineterminator='\\n').writerows(epoch_rows)",
        "    else:",
        "        os.makedirs(args.csv, exist_ok=True)",
        "        for file_name, rows in [('epochs.csv', epoch_rows), ('steps.csv', step_rows)]:",
        "            with open(os.path.join(args.csv, file_name), 'w', newline='') as file:",
        "                csv.writer(file).writerows(rows)  # as lrlab writes: csv's defaults, floats by repr",
    ]


def script(experiment: Experiment, indices: list[int]) -> str:
    """The script that trains ``experiment.runs[i]`` for each of ``indices``, in that order."""
    runs = [experiment.runs[i] for i in indices]
    names = ["train"] if len(runs) == 1 else [f"train_{i + 1}" for i in indices]
    functions: list[str] = []
    for run, name in zip(runs, names):
        if len(runs) > 1:
            functions += ["", "", f"# Run {experiment.runs.index(run) + 1}: {comment_text(run.name)}"]
        else:
            functions += ["", ""]
        functions += _Run(experiment, run).function(name)
    lines = [
        *_header(experiment, runs), "",
        *_imports(any(r.scheduler is not None for r in runs)), "",
        *_constants(experiment), "", "",
        *_net(experiment.model), "", "",
        *_data(experiment),
        *functions, "", "",
        *_main(list(zip(names, (r.name for r in runs)))),
    ]
    return "\n".join(lines) + "\n"
