"""What torch's signatures do not say: ranges, choices, expression fields, step intervals.

Keep this table small and declarative: everything else is read from the installed classes.
Every name here must be a real parameter (``build_class_spec`` raises otherwise), and a
test checks every entry of ``OPTIMIZER_COMMON`` is used by at least one optimizer.
"""

from __future__ import annotations

from ..fieldtypes import (Choice, Expression, Number, NumberList, NumberTuple, PerGroup,
                          SchedulerList, Unavailable)

__all__ = ["OPTIMIZER_BOUND", "SCHEDULER_BOUND", "OPTIMIZER_COMMON", "OPTIMIZERS", "SCHEDULERS",
           "INTERVALS", "MONITORS", "LR_EDIT_EFFECTS"]

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
    "lr": POSITIVE,
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

# Per optimizer: parameter overrides, and a reason when it cannot train this lab's model.
OPTIMIZERS: dict[str, dict] = {
    "Adafactor": {"params": {
        "eps": {"type": NumberTuple((NON_NEGATIVE, NON_NEGATIVE))},
        "beta2_decay": Number(le=0),
        "d": Number(ge=1),
    }},
    "Rprop": {"params": {
        "etas": NumberTuple((Number(gt=0, lt=1), Number(gt=1))),
        "step_sizes": NumberTuple((NON_NEGATIVE, POSITIVE)),
    }},
    "LBFGS": {"max_groups": 1, "params": {
        "max_iter": COUNT,
        "max_eval": {"type": COUNT, "default": None},
        "history_size": COUNT,
        "tolerance_grad": NON_NEGATIVE,
        "tolerance_change": NON_NEGATIVE,
        "line_search_fn": {"type": Choice(("strong_wolfe",)), "default": None},
    }},
    "Muon": {
        "params": {"adjust_lr_fn": {"type": Choice(("original", "match_rms_adamw")), "default": None},
                   "ns_steps": COUNT},
        "unsupported": "Muon only optimizes 2-d weight matrices, and every param group here holds a "
                       "layer's 1-d bias too; use SGD, Adam or AdamW",
    },
    "SparseAdam": {
        "unsupported": "SparseAdam needs sparse gradients (e.g. nn.Embedding(sparse=True)); this lab's "
                       "nn.Linear layers give dense ones; use Adam",
    },
}

INTERVALS = ("epoch", "step")
MONITORS = ("val_loss", "train_loss")

# What a scheduler does at its next step with an lr a person edited into param_groups.
CARRIES_ON = "carries on from the edited lr (it multiplies the current lr)"
OVERWRITES = ("overwrites the edit at its next step (it computes the lr from base_lrs); "
              "rebase to scale the rest of the schedule instead")
BOUNDED = ("overwrites the edit at its next step (it sets the lr from its own base/max lr); "
           "rebase to scale them")
LR_EDIT_EFFECTS = {"carries_on": CARRIES_ON, "overwrites": OVERWRITES, "bounded": BOUNDED}

# Per scheduler: parameter overrides, default interval, and what it does with an edited lr.
SCHEDULERS: dict[str, dict] = {
    "LambdaLR": {"params": {"lr_lambda": PerGroup(Expression("epoch", "0.95 ** epoch"))},
                 "effect": OVERWRITES},
    "MultiplicativeLR": {"params": {"lr_lambda": PerGroup(Expression("epoch", "0.95"))},
                         "effect": CARRIES_ON},
    "StepLR": {"params": {"step_size": COUNT, "gamma": POSITIVE}, "effect": CARRIES_ON},
    "MultiStepLR": {"params": {"milestones": NumberList(COUNT), "gamma": POSITIVE}, "effect": CARRIES_ON},
    "ConstantLR": {"params": {"factor": Number(gt=0, le=1), "total_iters": NON_NEGATIVE_COUNT},
                   "effect": CARRIES_ON},
    "LinearLR": {"params": {"start_factor": Number(gt=0, le=1), "end_factor": UNIT,
                            "total_iters": COUNT}, "effect": CARRIES_ON},
    "ExponentialLR": {"params": {"gamma": POSITIVE}, "effect": CARRIES_ON},
    "PolynomialLR": {"params": {"total_iters": COUNT, "power": NON_NEGATIVE}, "effect": CARRIES_ON},
    "CosineAnnealingLR": {"params": {"T_max": COUNT, "eta_min": NON_NEGATIVE}, "effect": CARRIES_ON},
    "CosineAnnealingWarmRestarts": {"params": {"T_0": COUNT, "T_mult": COUNT, "eta_min": NON_NEGATIVE},
                                    "effect": OVERWRITES},
    "CyclicLR": {
        "params": {
            "base_lr": PerGroup(NON_NEGATIVE), "max_lr": PerGroup(POSITIVE),
            "step_size_up": COUNT, "step_size_down": {"type": COUNT, "default": None},
            "gamma": POSITIVE,
            "scale_fn": {"type": Expression("x", "1 / (2 ** (x - 1))"), "default": None},
            "base_momentum": PerGroup(NON_NEGATIVE), "max_momentum": PerGroup(NON_NEGATIVE),
        },
        "interval": "step", "effect": BOUNDED,
    },
    "OneCycleLR": {
        "params": {
            "max_lr": PerGroup(POSITIVE),
            "total_steps": {"type": COUNT, "default": None},
            "epochs": {"type": COUNT, "default": None},
            "steps_per_epoch": {"type": COUNT, "default": None},
            "pct_start": UNIT, "div_factor": POSITIVE, "final_div_factor": POSITIVE,
            "base_momentum": PerGroup(NON_NEGATIVE), "max_momentum": PerGroup(NON_NEGATIVE),
        },
        "interval": "step", "effect": BOUNDED,
    },
    "ReduceLROnPlateau": {
        "params": {"factor": Number(ge=0, lt=1), "patience": NON_NEGATIVE_COUNT, "threshold": NON_NEGATIVE,
                   "cooldown": NON_NEGATIVE_COUNT, "min_lr": PerGroup(NON_NEGATIVE), "eps": NON_NEGATIVE},
        "effect": "carries on from the edited lr (it only multiplies the current lr by factor on a plateau)",
        "monitor": True,
    },
    "SequentialLR": {"params": {"schedulers": SchedulerList(),
                                "milestones": NumberList(COUNT, min_length=0, increasing=True)},
                     "effect": "depends on the scheduler active at that epoch", "nested": True},
    "ChainedScheduler": {"params": {"schedulers": SchedulerList()},
                         "effect": "depends on the chained schedulers: each applies its own rule in turn",
                         "nested": True},
}
