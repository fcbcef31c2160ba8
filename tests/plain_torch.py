"""A plain torch training loop, written without the engine: the reference the engine's recorded
losses and lrs must equal bit for bit.

It rebuilds, from their documented recipes, what an experiment of ``model = "article"`` trains
on: the synthetic data (one generator seeded with the experiment's seed: inputs, a teacher's
weights, noise), the article's ``Net`` (``torch.manual_seed(seed)``, then ``nn.Linear(10, 2)``
and ``nn.Linear(2, 10)``; the forward is ``self.layer(input)``), and each epoch's batch order
(``torch.randperm`` from a second generator). The loop is torch's documented one:
``zero_grad -> forward -> backward -> optimizer.step() -> scheduler.step()`` (``optimizer.step(closure)``
for LBFGS; after each epoch, the validation loss under ``torch.no_grad()``, which a
ReduceLROnPlateau is stepped with).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(10, 2)
        self.layer2 = nn.Linear(2, 10)

    def forward(self, input):
        return self.layer(input)


def net(seed: int) -> Net:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Net()


def split(seed: int, samples: int, noise: float, val_fraction: float):
    """(x_train, y_train, x_val, y_val) of the article's teacher: the last ``val_fraction`` of the
    samples (rounded) are the validation set."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, 10, generator=g)
    w1 = torch.randn(10, 2, generator=g) / math.sqrt(10)
    b1 = torch.randn(2, generator=g) * 0.5
    y = x @ w1 + b1
    y = y + noise * torch.randn(y.shape, generator=g)
    n = samples - round(samples * val_fraction)
    return x[:n].contiguous(), y[:n].contiguous(), x[n:].contiguous(), y[n:].contiguous()


def data(seed: int, samples: int, noise: float, val_fraction: float):
    """(x_train, y_train) of the article's teacher."""
    return split(seed, samples, noise, val_fraction)[:2]


def order_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 6364136223846793005 + 1442695040888963407) % 2**63)


@dataclass
class Trained:
    losses: list[float]       # per optimizer step
    lrs: list[list[float]]    # per optimizer step, each group's lr as the step used it
    model: Net
    optimizer: torch.optim.Optimizer
    scheduler: object
    train_losses: list[float] = field(default_factory=list)  # per epoch: the mean over the samples
    val_losses: list[float] = field(default_factory=list)    # per epoch, with a validation set
    warnings: list[str] = field(default_factory=list)        # torch's warnings while training, once each


def train(make_optimizer, *, epochs: int, make_scheduler=None, interval: str = "epoch", before=None,
          seed: int = 0, samples: int = 128, batch_size: int = 32, noise: float = 0.1,
          val_fraction: float = 0.0, closure: bool = False, scheduler_first: bool = False) -> Trained:
    """Train ``make_optimizer(model)`` for ``epochs``; ``make_scheduler(optimizer)`` is stepped after
    every epoch (``interval = "epoch"``), every batch (``"step"``), or every batch ``i`` with
    ``scheduler.step(epoch + i / iters)`` (``"fractional"``, torch's CosineAnnealingWarmRestarts idiom).
    A ReduceLROnPlateau is stepped after every epoch with that epoch's validation loss (the model on
    the validation set under ``torch.no_grad()``, after the epoch's last step).
    ``before(t, optimizer)`` runs before optimizer step ``t`` (edits of ``param_groups``).
    ``closure``: ``optimizer.step(closure)``, torch's idiom for LBFGS (the loss recorded is the one
    ``step`` returns: the closure's first evaluation). ``scheduler_first``: the common mistake,
    ``scheduler.step()`` at the top of each epoch (or batch) instead of after its optimizer steps."""
    x_train, y_train, x_val, y_val = split(seed, samples, noise, val_fraction)
    model = net(seed)
    optimizer = make_optimizer(model)
    scheduler = make_scheduler(optimizer) if make_scheduler is not None else None
    order = order_generator(seed)
    n = len(x_train)
    iters = math.ceil(n / batch_size)
    losses, lrs, train_losses, val_losses = [], [], [], []
    late = scheduler is not None and not scheduler_first  # stepped after the optimizer, as torch documents
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch in range(epochs):
            if scheduler_first and interval == "epoch":
                scheduler.step()
            perm = torch.randperm(n, generator=order)
            xs, ys = x_train[perm], y_train[perm]
            total = 0.0
            for i in range(iters):
                if before is not None:
                    before(epoch * iters + i, optimizer)
                if scheduler_first and interval == "step":
                    scheduler.step()
                elif scheduler_first and interval == "fractional":
                    scheduler.step(epoch + i / iters)
                lrs.append([g["lr"] for g in optimizer.param_groups])
                x, y = xs[i * batch_size:(i + 1) * batch_size], ys[i * batch_size:(i + 1) * batch_size]
                if closure:
                    def evaluate(x=x, y=y):
                        optimizer.zero_grad()
                        loss = F.mse_loss(model(x), y)
                        loss.backward()
                        return loss

                    loss = optimizer.step(evaluate)
                else:
                    optimizer.zero_grad()
                    loss = F.mse_loss(model(x), y)
                    loss.backward()
                    optimizer.step()
                losses.append(loss.item())
                total += losses[-1] * len(x)
                if late and interval == "step":
                    scheduler.step()
                elif late and interval == "fractional":
                    scheduler.step(epoch + i / iters)
            train_losses.append(total / n)
            if len(x_val):
                with torch.no_grad():
                    val_losses.append(F.mse_loss(model(x_val), y_val).item())
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(val_losses[-1])
            elif late and interval == "epoch":
                scheduler.step()
    return Trained(losses, lrs, model, optimizer, scheduler, train_losses, val_losses,
                   list(dict.fromkeys(str(w.message) for w in caught)))
