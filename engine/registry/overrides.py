"""What torch's signatures and docstrings do not say: ranges, choices, expression fields, step
intervals, and plain summaries where torch's first docstring line misleads a learner.

Keep this table small and declarative: everything else is read from the installed classes.
Every name here must be a real parameter (``build_class_spec`` raises otherwise), and a
test checks every entry of ``OPTIMIZER_COMMON`` is used by at least one optimizer. A
``summary`` must be exactly true of the installed torch (read its source): the window shows
it under each picker and ``describe`` prints it, with torch's own first paragraph after it.

A scheduler's entry also holds its traits, which the engine asks instead of naming classes:
``interval``, ``effect``, ``fractional``, ``monitor`` (steps with a metric), ``length`` and
``length_factors``, ``calls`` (what its expressions see), ``children`` (how it steps the
schedulers nested in it), ``adopt`` (a :class:`~engine.registry.spec.GroupAdoption`: how a group
added mid-run joins it) and ``rebase`` (a :class:`~engine.registry.spec.GroupRebase`: what
rebasing an lr edit scales); the options they name must be real parameters too.
"""

from __future__ import annotations

from ..fieldtypes import Choice, Expression, Number, NumberList, NumberTuple, PerGroup, SchedulerList, Unavailable
from .spec import AFTER_INITIAL, CHAINED, CYCLE_OR_COUNT, INITIAL_LR, SEQUENTIAL

__all__ = ["OPTIMIZER_BOUND", "SCHEDULER_BOUND", "OPTIMIZER_COMMON", "OPTIMIZERS", "SCHEDULERS",
           "INTERVALS", "STEP_ORDERS", "MONITORS", "GROUP_SWITCHES"]

# Parameters the engine supplies itself.
OPTIMIZER_BOUND = {"params"}
SCHEDULER_BOUND = {"optimizer", "last_epoch", "verbose"}

POSITIVE = Number(gt=0)
NON_NEGATIVE = Number(ge=0)
COUNT = Number(integer=True, ge=1)
NON_NEGATIVE_COUNT = Number(integer=True, ge=0)
UNIT = Number(ge=0, le=1)

# Applied to every optimizer that has a parameter of this name.
OPTIMIZER_COMMON = {
    "lr": NON_NEGATIVE,  # torch: 0.0 <= lr (0 pauses a group)
    "eps": NON_NEGATIVE,
    "weight_decay": NON_NEGATIVE,
    "momentum": NON_NEGATIVE,
    "betas": NumberTuple((Number(ge=0, lt=1), Number(ge=0, lt=1))),
    "rho": UNIT,
    "alpha": NON_NEGATIVE,
    "lr_decay": NON_NEGATIVE,
    "initial_accumulator_value": NON_NEGATIVE,
    "momentum_decay": NON_NEGATIVE,
    "lambd": NON_NEGATIVE,
    "t0": NON_NEGATIVE,
    "capturable": Unavailable("capturable is for CUDA graphs and torch.compile; this lab trains on the CPU"),
    "differentiable": Unavailable("differentiable runs autograd through optimizer.step() (meta-learning); "
                                  "this lab trains ordinary parameters"),
}

# param_groups keys that switch torch's implementation (or, like maximize, are not part of an lr
# lesson): the live param_groups the window shows leave them out (registry.HIDDEN_GROUP_KEYS)
GROUP_SWITCHES = ("params", "foreach", "fused", "capturable", "differentiable", "maximize",
                  "decoupled_weight_decay")

# Per optimizer: a plain summary (torch's first line is mostly "Implements Adam algorithm."),
# parameter overrides, and a reason when it cannot train this lab's model.
OPTIMIZERS: dict[str, dict] = {
    "SGD": {"summary": "Stochastic gradient descent: each step moves every parameter against its gradient, "
                       "by lr times the gradient. With momentum > 0 it moves along a decaying sum of past "
                       "gradients instead (nesterov adds a look-ahead)."},
    "Adam": {"summary": "Steps each parameter by a running average of its gradients divided by the square root "
                        "of a running average of their squares (betas: how slowly they forget), so the step "
                        "size follows lr, not the gradient's scale. weight_decay is an L2 penalty, or AdamW's "
                        "decay with decoupled_weight_decay."},
    "AdamW": {"summary": "Adam with decoupled weight decay: each step also shrinks every weight by "
                         "lr * weight_decay (default 0.01) of its value, instead of adding the decay to the "
                         "gradient as Adam does."},
    "Adamax": {"summary": "A variant of Adam that divides by a decaying maximum of each gradient's absolute value "
                          "(the infinity norm) instead of the square root of an average of squared gradients."},
    "NAdam": {"summary": "Adam with Nesterov momentum: each step looks ahead along the running average of "
                         "gradients, whose weight grows towards betas[0] over the steps (momentum_decay sets "
                         "how slowly)."},
    "RAdam": {"summary": "Adam with a rectified start: while too few steps have been seen for the average of "
                         "squared gradients to be reliable it takes plain momentum steps, then Adam steps scaled "
                         "by a rectification term."},
    "Adagrad": {"summary": "Divides each parameter's step by the square root of the sum of all its past squared "
                           "gradients, so each parameter's effective lr only ever shrinks, fastest where "
                           "gradients are large.",
                "lr_note": "with lr_decay > 0, Adagrad steps with lr / (1 + (step - 1) * lr_decay), step "
                           "counting each parameter's steps from 1, so its step size is that much smaller "
                           "than the lr in param_groups",
                "lr_note_if": "lr_decay"},
    "Adadelta": {"summary": "Scales each parameter's step by the ratio of two running averages, of its past squared "
                            "updates and of its squared gradients (rho: how slowly they forget); lr (default 1.0) "
                            "multiplies the result."},
    "RMSprop": {"summary": "Divides each parameter's gradient by the square root of a running average of its "
                           "squared gradients (alpha: how slowly it forgets); momentum and centered are options."},
    "ASGD": {"summary": "Averaged SGD: SGD whose step size shrinks as steps accumulate (lambd, alpha), which also "
                        "averages the parameters from step t0 on (default 1e6) in the optimizer's state; the "
                        "model keeps training with the unaveraged weights.",
             "lr_note": "ASGD steps with eta, not lr: after each step it sets eta = lr / (1 + lambd * lr * step) "
                        "** alpha from that step's lr (the first step uses lr itself), so a changed lr reaches "
                        "the step size one step later, and the step size shrinks as steps accumulate"},
    "Adafactor": {
        "summary": "A memory-saving relative of Adam without momentum: for a weight matrix it keeps running "
                   "averages of squared gradients per row and per column, not per entry. Its step is relative: "
                   "min(lr, 1/sqrt(step)) times the parameter's root-mean-square.",
        "lr_note": "Adafactor scales each update by min(lr, 1/sqrt(step)) times the parameter's root-mean-square "
                   "(at least eps[1]): lr only caps the relative step 1/sqrt(step), so changing lr changes the "
                   "update only while lr is below 1/sqrt(step) (with the default lr 0.01, for the first "
                   "10,000 steps); weight_decay uses lr itself (each step shrinks weights by lr * weight_decay)",
        "params": {
            "eps": {"type": NumberTuple((NON_NEGATIVE, NON_NEGATIVE))},
            "beta2_decay": Number(le=0),
            "d": Number(ge=1),
        }},
    "Rprop": {
        "summary": "Resilient backpropagation: uses only the sign of each gradient. Each weight's own step size "
                   "grows by etas[1] while its gradient keeps its sign and shrinks by etas[0] when it flips, "
                   "within step_sizes; lr is only the first step size.",
        "lr_note": "Rprop reads lr only at a parameter's first step, as its initial step size; from then on each "
                   "weight's own step size is all it uses, so changing lr later (a schedule, the manual decay, "
                   "an edit) changes nothing: a scheduled Rprop trains exactly like an unscheduled one",
        "params": {
            "etas": NumberTuple((Number(gt=0, lt=1), Number(gt=1))),
            "step_sizes": NumberTuple((NON_NEGATIVE, POSITIVE)),
        }},
    "LBFGS": {
        "summary": "A quasi-Newton method: each optimizer step runs up to max_iter iterations, re-evaluating "
                   "the loss and estimating curvature from the last history_size updates. torch allows it "
                   "one param group only.",
        # Each optimizer step runs up to max_iter iterations (a forward and backward pass and a
        # pass over the history each): with tolerances of 0, 1,000 take tens of seconds a step on
        # 1,000 samples, where tens of iterations converge. A history longer than the model's 52
        # parameters adds nothing (L-BFGS becomes full BFGS), while torch allocates lists of
        # history_size entries at every step (10**8 took 800 MB). max_eval can only end a step
        # before max_iter does, so it keeps the limit of every count.
        "max_groups": 1, "params": {
            # The trial step before training (engine/trial.py) checks that torch accepts the run,
            # not how it converges: it runs a few iterations, not up to 1,000 with tolerances of 0.
            "max_iter": {"type": Number(integer=True, ge=1, le=1_000), "trial_limit": 3},
            "max_eval": {"type": COUNT, "default": None, "trial_limit": 4},
            "history_size": Number(integer=True, ge=1, le=1_000),
            "tolerance_grad": NON_NEGATIVE,
            "tolerance_change": NON_NEGATIVE,
            "line_search_fn": {"type": Choice(("strong_wolfe",)), "default": None},
        }},
    "Muon": {
        "summary": "Orthogonalizes the momentum of each 2-d weight matrix (ns_steps Newton-Schulz iterations) "
                   "before stepping; it refuses any parameter that is not 2-d.",
        "params": {"adjust_lr_fn": {"type": Choice(("original", "match_rms_adamw")), "default": None},
                   "ns_steps": COUNT},
        "unsupported": "Muon only optimizes 2-d weight matrices, and every param group here holds a "
                       "layer's 1-d bias too; use SGD, Adam or AdamW",
    },
    "SparseAdam": {
        "summary": "A masked version of Adam for sparse gradients (e.g. nn.Embedding(sparse=True)): it updates "
                   "only the entries that received a gradient.",
        "unsupported": "SparseAdam needs sparse gradients (e.g. nn.Embedding(sparse=True)); this lab's "
                       "nn.Linear layers give dense ones; use Adam",
    },
}

# "fractional" too where a class's step() takes an epoch (its "fractional" trait)
INTERVALS = ("epoch", "step")
# when scheduler.step() is called relative to optimizer.step(): torch's order, or the mistake it warns about
STEP_ORDERS = ("optimizer_first", "scheduler_first")
MONITORS = ("val_loss", "train_loss")

# What a scheduler does at its next step with an lr a person edited into param_groups.
CARRIES_ON = "carries on from the edited lr (it multiplies the current lr)"
OVERWRITES = ("overwrites the edit at its next step (it computes the lr from base_lrs); "
              "rebase to scale the rest of the schedule instead")
BOUNDED = ("overwrites the edit at its next step (it sets the lr from its own base/max lr); "
           "rebase to scale them")

# Per scheduler: a plain summary where torch's first line misleads or says little (LambdaLR's
# is "Sets the initial learning rate."; StepLR, MultiStepLR and ExponentialLR keep torch's),
# parameter overrides, default interval, and what it does with an edited lr.
# "Scheduler step": one scheduler.step(), after every epoch or every optimizer step (interval).
SCHEDULERS: dict[str, dict] = {
    "LambdaLR": {"summary": "Sets each group's lr to its initial lr times lr_lambda(epoch), where epoch counts "
                            "scheduler steps from 0. The factor always applies to the initial lr, so factors do "
                            "not compound (unlike MultiplicativeLR).",
                 "params": {"lr_lambda": PerGroup(Expression("epoch", "0.95 ** epoch"))},
                 "adopt": {"lists": (("base_lrs", INITIAL_LR), ("lr_lambdas", "lr_lambda"))},
                 "effect": OVERWRITES},
    "MultiplicativeLR": {"summary": "At every scheduler step, multiplies each group's current lr by "
                                    "lr_lambda(epoch), so the factors compound: a constant 0.95 is an "
                                    "exponential decay.",
                         "params": {"lr_lambda": PerGroup(Expression("epoch", "0.95"))},
                         # its initial step keeps the lrs: torch calls lr_lambda from epoch 1
                         "calls": {"lr_lambda": AFTER_INITIAL},
                         "adopt": {"lists": (("base_lrs", INITIAL_LR), ("lr_lambdas", "lr_lambda"))},
                         "effect": CARRIES_ON},
    "StepLR": {"params": {"step_size": COUNT, "gamma": POSITIVE}, "effect": CARRIES_ON},
    "MultiStepLR": {"params": {"milestones": NumberList(COUNT), "gamma": POSITIVE}, "effect": CARRIES_ON},
    "ConstantLR": {"summary": "Multiplies each group's lr by factor (default 1/3) during the first total_iters "
                              "scheduler steps, then restores the full lr.",
                   "params": {"factor": Number(gt=0, le=1), "total_iters": NON_NEGATIVE_COUNT},
                   "effect": "carries on from the edited lr (it multiplies the current lr): at total_iters it "
                             "multiplies it by 1/factor, so an lr edited, or a group added, before then "
                             "jumps to 1/factor times its value there"},
    "LinearLR": {"summary": "Multiplies each group's lr by a factor that moves in a straight line from "
                            "start_factor to end_factor over total_iters scheduler steps, then stays at end_factor. "
                            "With the defaults (1/3 up to 1) it is a warm-up to the full lr.",
                 "params": {"start_factor": Number(gt=0, le=1), "end_factor": UNIT, "total_iters": COUNT},
                 "effect": "carries on from the edited lr (it multiplies the current lr by each step's change "
                           "of factor): an lr edited, or a group added, before total_iters keeps moving with "
                           "the factor, to end_factor / (the factor then) times its value at total_iters"},
    "ExponentialLR": {"params": {"gamma": POSITIVE}, "effect": CARRIES_ON},
    "PolynomialLR": {"summary": "Decays each group's lr to 0 over total_iters scheduler steps along a polynomial "
                                "of the given power (power=1: a straight line), then keeps it at 0.",
                     "params": {"total_iters": COUNT, "power": NON_NEGATIVE},
                     "effect": "carries on from the edited lr until total_iters, where it drops the edit "
                               "(the lr is 0 from there, as without it)"},
    "CosineAnnealingLR": {"summary": "Lowers each group's lr from its initial value to eta_min along half a cosine "
                                     "over T_max scheduler steps. It has no restarts: stepped past T_max, the lr "
                                     "climbs back up the cosine, to its initial value at 2 * T_max.",
                          "params": {"T_max": COUNT, "eta_min": NON_NEGATIVE},
                          "effect": "carries on from the edited lr along the cosine until T_max, where it drops "
                                    "the edit (eta_min exactly), then climbs back from base_lrs"},
    "CosineAnnealingWarmRestarts": {
        "summary": "Lowers each group's lr from its initial value towards eta_min along a cosine, then restarts "
                   "it at the initial value: the first restart comes after T_0 scheduler steps, and each cycle "
                   "is T_mult times longer than the one before.",
        "params": {"T_0": COUNT, "T_mult": COUNT, "eta_min": NON_NEGATIVE},
        "effect": OVERWRITES,
        # its step(epoch) takes a fractional epoch: torch's per-batch idiom, interval = "fractional"
        "fractional": True},
    "CyclicLR": {
        "summary": "Sweeps each group's lr between base_lr and max_lr: up over step_size_up scheduler steps, down "
                   "over step_size_down (mode or scale_fn can shrink the swing). It replaces the optimizer's lr "
                   "with base_lr and, by default, moves momentum the opposite way.",
        "params": {
            "base_lr": PerGroup(NON_NEGATIVE), "max_lr": PerGroup(NON_NEGATIVE),
            "step_size_up": COUNT, "step_size_down": {"type": COUNT, "default": None},
            "gamma": POSITIVE,
            "scale_fn": {"type": Expression("x", "1 / (2 ** (x - 1))"), "default": None},
            "base_momentum": PerGroup(NON_NEGATIVE), "max_momentum": PerGroup(NON_NEGATIVE),
        },
        "interval": "step", "effect": BOUNDED,
        "calls": {"scale_fn": CYCLE_OR_COUNT},
        # a new group's bounds: its entry of base_lr and max_lr (and the momenta), as the constructor
        "adopt": {"lists": (("base_lrs", "base_lr"), ("max_lrs", "max_lr")), "cycles_momentum": True,
                  "momentum_lists": (("base_momentums", "base_momentum"), ("max_momentums", "max_momentum"))},
        "rebase": {"lists": ("base_lrs", "max_lrs")},
    },
    "OneCycleLR": {
        "summary": "Raises each group's lr from max_lr / div_factor to max_lr over the first pct_start of "
                   "total_steps, then anneals it far below its start (the start / final_div_factor). It ignores "
                   "the optimizer's lr and, by default, moves momentum the opposite way.",
        "params": {
            "max_lr": PerGroup(NON_NEGATIVE),
            "total_steps": {"type": COUNT, "default": None},
            "epochs": {"type": COUNT, "default": None},
            "steps_per_epoch": {"type": COUNT, "default": None},
            "pct_start": UNIT, "div_factor": POSITIVE, "final_div_factor": POSITIVE,
            "base_momentum": PerGroup(NON_NEGATIVE), "max_momentum": PerGroup(NON_NEGATIVE),
        },
        "interval": "step", "effect": BOUNDED,
        # left out: epochs x steps_per_epoch if both are given, else the run's scheduler steps
        # (schedulers.scheduler_length)
        "length": "total_steps", "length_factors": ("epochs", "steps_per_epoch"),
        # the constructor's group keys: initial_lr = max_lr / div_factor, min_lr = initial_lr / final_div_factor
        "adopt": {"group_keys": (("initial_lr", "max_lr", "div_factor"), ("max_lr", "max_lr", None),
                                 ("min_lr", "initial_lr", "final_div_factor")),
                  "lists": (("base_lrs", INITIAL_LR),), "cycles_momentum": True},
        # it computes the lr from the group's max_lr and min_lr (base_lrs only start it)
        "rebase": {"group_keys": ("max_lr", "min_lr"), "lists": ()},
    },
    "ReduceLROnPlateau": {
        "summary": "Multiplies each group's lr by factor (default 0.1) when the monitored loss has not improved "
                   "for more than patience epochs in a row, then waits cooldown epochs before counting again; "
                   "the lr never goes below min_lr.",
        "params": {"factor": Number(ge=0, lt=1), "patience": NON_NEGATIVE_COUNT, "threshold": NON_NEGATIVE,
                   "cooldown": NON_NEGATIVE_COUNT, "min_lr": PerGroup(NON_NEGATIVE), "eps": NON_NEGATIVE},
        "effect": "carries on from the edited lr (it only multiplies the current lr by factor on a plateau)",
        "monitor": True,
        # no base_lrs: a floor per group, and nothing to rebase (it multiplies the current lr)
        "adopt": {"lists": (("min_lrs", "min_lr"),)}, "rebase": {"lists": ()},
    },
    "SequentialLR": {"summary": "Runs its schedulers one after another: the first until the first milestone, the "
                                "next until the following one, and so on. Only the active one steps, and at its "
                                "milestone a scheduler restarts its count from 0.",
                     "params": {"schedulers": SchedulerList(),
                                "milestones": NumberList(COUNT, min_length=0, increasing=True)},
                     "effect": "follows the active scheduler's rule until the next milestone, where the next "
                               "scheduler starts over from its base lrs and drops the edit (a MultiplicativeLR "
                               "there carries on from the current lr); rebase to scale every scheduler's base "
                               "lrs instead",
                     # its schedulers adopt a new group and rebase themselves
                     "children": SEQUENTIAL, "adopt": {"lists": ()}, "rebase": {"lists": ()}},
    "ChainedScheduler": {"summary": "Steps every one of its schedulers, in order, at each scheduler step, so their "
                                    "changes to the lr combine (e.g. ConstantLR's lowered start with "
                                    "ExponentialLR's decay).",
                         "params": {"schedulers": SchedulerList()},
                         "effect": "depends on the chained schedulers: each applies its own rule in turn",
                         "children": CHAINED, "adopt": {"lists": ()}, "rebase": {"lists": ()}},
}
