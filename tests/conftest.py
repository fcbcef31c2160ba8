"""Shared fixtures. Qt runs offscreen: set before any Qt module loads (pytest-qt's qapp aborts otherwise)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402


@pytest.fixture
def experiment_dict():
    """A small valid experiment as TOML would give it; tests change one thing each."""
    def make(**runs_overrides):
        run = {"name": "r", "optimizer": {"type": "Adam", "lr": 0.1}}
        run.update(runs_overrides)
        return {"seed": 0, "epochs": 6, "model": "article",
                "data": {"samples": 128, "batch_size": 32}, "runs": [run]}
    return make
