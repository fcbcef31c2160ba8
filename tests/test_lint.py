"""ruff (lint) over the code, as part of ``make test``: its settings are pyproject.toml's [tool.ruff]."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["engine", "gui", "tests", "benchmarks", "main.py"]


def _ruff() -> list[str]:
    beside = Path(sys.executable).with_name("ruff")  # the venv's (pip install -e '.[test]')
    found = str(beside) if beside.exists() else shutil.which("ruff")
    assert found, "ruff is not installed: pip install -c constraints.txt -e '.[test]'"
    return [found]


def test_ruff_finds_nothing():
    result = subprocess.run([*_ruff(), "check", "--no-cache", "--output-format", "concise", *CHECKED], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
