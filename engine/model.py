"""The article's network, and the synthetic regression data it learns.

``Net`` is the article's class with its module names (``layer``, ``layer2``) kept exactly,
because param groups name them. With ``model = "article"`` its forward is the article's
``self.layer(input)``, so ``layer2`` never gets a gradient (the engine says so in the
results); ``"bottleneck"`` feeds ``layer`` into ``layer2`` so that both train.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import torch
from torch import nn

from .config import DataConfig

__all__ = ["Net", "build_model", "Dataset", "make_dataset"]


class Net(nn.Module):
    def __init__(self, variant: str = "article"):
        super().__init__()
        self.variant = variant
        self.layer = nn.Linear(10, 2)
        self.layer2 = nn.Linear(2, 10)

    def forward(self, input):  # noqa: A002 - the article's name
        if self.variant == "article":
            return self.layer(input)
        return self.layer2(torch.tanh(self.layer(input)))


_GLOBAL_RNG = threading.Lock()


def build_model(variant: str, seed: int) -> Net:
    """A fresh ``Net`` whose initial weights depend only on ``seed`` (not on the global RNG).

    torch's default initialisation draws from the global generator, seeded here for the build
    and restored after it: one build at a time, or two threads (the engine's and another, as
    when the engine runs in a thread of the test suite) would draw from each other's seed."""
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Net(variant)


@dataclass(frozen=True)
class Dataset:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


def make_dataset(variant: str, seed: int, data: DataConfig) -> Dataset:
    """Inputs ``x ~ N(0, 1)`` and targets from a random "teacher" of the model's own shape, plus noise.

    The teacher has the student's architecture, so the loss can approach ``noise**2`` and
    a learner sees a schedule's effect on convergence, not on an impossible fit.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(data.samples, 10, generator=g)
    w1 = torch.randn(10, 2, generator=g) / math.sqrt(10)
    b1 = torch.randn(2, generator=g) * 0.5
    if variant == "article":
        y = x @ w1 + b1
    else:
        w2 = torch.randn(2, 10, generator=g)
        b2 = torch.randn(10, generator=g) * 0.5
        y = torch.tanh(x @ w1 * 2 + b1) @ w2 + b2
    y = y + data.noise * torch.randn(y.shape, generator=g)
    n = data.n_train
    return Dataset(x[:n].contiguous(), y[:n].contiguous(), x[n:].contiguous(), y[n:].contiguous())
