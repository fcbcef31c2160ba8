"""How every process of the app runs torch: one intra-op thread.

This network's tensors (batches of 32 x 10) are far too small for intra-op threads to pay, and
with torch's default (one thread per core) any other busy process makes OpenMP's threads wait on
each other: on a 2-core machine a run then crawls (x5-8 slower) for nothing. One thread also
gives the same numbers everywhere. The CLI (engine/cli.py), the engine loop (engine/worker.py,
a process of its own or a thread of the window's), the window (gui/app.py), the benchmarks and
the test suite (tests/conftest.py) all call :func:`configure_torch` before torch computes.
"""

from __future__ import annotations

__all__ = ["TORCH_THREADS", "configure_torch"]

TORCH_THREADS = 1


def configure_torch() -> None:
    """One intra-op thread for this process (cheap, idempotent; imports torch)."""
    import torch

    if torch.get_num_threads() != TORCH_THREADS:
        torch.set_num_threads(TORCH_THREADS)
