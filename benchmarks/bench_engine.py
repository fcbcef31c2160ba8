"""Engine throughput against a bare torch loop doing the same work.

The bare loop is the article's loop as a person writes it: index the tensors per batch
(no DataLoader), ``zero_grad``, forward, ``backward``, ``step``, ``loss.item()``.

Same model and initial weights, same data, batch size, batch order, optimizer (and
scheduler); the bare loop records each loss with ``.item()`` and computes the validation
loss every epoch, as the engine does. Rounds alternate between the two so that machine
noise hits both alike; the figure is the median of the rounds.
"""

from __future__ import annotations

import statistics
import time
import warnings

import torch
import torch.nn.functional as F

from engine.model import build_model, make_dataset
from engine.parse import parse_experiment
from engine.run import shuffle_seed
from engine.session import TrainingSession
from engine.torch_setup import configure_torch

EPOCHS = 40
CASES = {
    "Adam, no scheduler": ({"type": "Adam", "lr": 0.01}, None),
    "Adam + OneCycleLR per step": ({"type": "Adam", "lr": 0.01}, {"type": "OneCycleLR", "max_lr": 0.05}),
    "SGD + StepLR per epoch": ({"type": "SGD", "lr": 0.01, "momentum": 0.9},
                               {"type": "StepLR", "step_size": 5, "gamma": 0.5}),
}


def make_experiment(optimizer, scheduler):
    run = {"name": "bench", "optimizer": optimizer}
    if scheduler:
        run["scheduler"] = scheduler
    return parse_experiment({"seed": 0, "epochs": EPOCHS, "model": "article",
                             "data": {"samples": 1024, "batch_size": 32, "val_fraction": 0.2}, "runs": [run]})


def engine_steps_per_second(experiment) -> float:
    session = TrainingSession(experiment)
    began = time.perf_counter()
    session.run()
    return session.position / (time.perf_counter() - began)


def bare_steps_per_second(experiment) -> float:
    """The loop a person would write by hand for the same experiment."""
    data = make_dataset(experiment.model, experiment.seed, experiment.data)
    model = build_model(experiment.model, experiment.seed)
    run = experiment.runs[0]
    optimizer = getattr(torch.optim, run.optimizer.type)(model.parameters(), **run.optimizer.options)
    scheduler, per_step = None, False
    if run.scheduler is not None:
        options = dict(run.scheduler.options)
        if run.scheduler.type == "OneCycleLR":
            options["total_steps"] = experiment.total_steps
        scheduler = getattr(torch.optim.lr_scheduler, run.scheduler.type)(optimizer, **options)
        per_step = run.scheduler.interval == "step"
    generator = torch.Generator().manual_seed(shuffle_seed(experiment.seed))
    batch, n = experiment.data.batch_size, data.x_train.shape[0]
    losses, val_losses = [], []
    began = time.perf_counter()
    steps = 0
    for _ in range(experiment.epochs):
        perm = torch.randperm(n, generator=generator)
        for start in range(0, n, batch):
            index = perm[start:start + batch]
            optimizer.zero_grad()
            loss = F.mse_loss(model(data.x_train[index]), data.y_train[index])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            steps += 1
            if per_step:
                scheduler.step()
        with torch.no_grad():
            val_losses.append(F.mse_loss(model(data.x_val), data.y_val).item())
        if scheduler is not None and not per_step:
            scheduler.step()
    return steps / (time.perf_counter() - began)


def main(rounds: int = 5) -> list[tuple[str, float, float]]:
    warnings.simplefilter("ignore")
    # One intra-op thread, as the engine runs everywhere (engine/torch_setup.py): with
    # torch's default two on this 2-core machine, any other busy process makes OpenMP's threads
    # wait on each other and both loops crawl (x5-8 slower), which says nothing about the engine.
    configure_torch()
    print(f"engine vs bare torch loop: {EPOCHS} epochs x 26 steps, batch 32, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, median of {rounds} alternating rounds")
    rows = []
    for name, (optimizer, scheduler) in CASES.items():
        experiment = make_experiment(optimizer, scheduler)
        engine_steps_per_second(experiment)  # warm-up (first optimizer construction, allocations)
        bare_steps_per_second(experiment)
        engine, bare = [], []
        for _ in range(rounds):
            engine.append(engine_steps_per_second(experiment))
            bare.append(bare_steps_per_second(experiment))
        e, b = statistics.median(engine), statistics.median(bare)
        rows.append((name, e, b))
        verdict = "ok" if e >= 0.9 * b else "SLOWER than the 10 % target"
        print(f"  {name:<28} engine {e:8.0f} steps/s   bare {b:8.0f} steps/s   ratio {e / b:5.3f}  {verdict}")
    return rows


if __name__ == "__main__":
    main()
