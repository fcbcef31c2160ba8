"""`make bench`: every benchmark, the details as they are measured, then one table of the figures
against issue 7's targets (ok / MISSED; "-" for figures reported without a target)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import bench_engine, bench_gui  # noqa: E402
from benchmarks.bench_gui import Figure  # noqa: E402


def print_table(figures: list[Figure]) -> None:
    width = max(len(f.name) for f in figures)
    value = max(len(f.value) for f in figures)
    target = max(len(f.target) for f in figures)
    print(f"{'figure':<{width}}  {'value':<{value}}  {'target':<{target}}  verdict")
    print("-" * (width + value + target + 13))
    for f in figures:
        print(f"{f.name:<{width}}  {f.value:<{value}}  {f.target:<{target}}  {f.verdict}")


def code_measured() -> str:
    """The commit measured, and the engine/gui files that differ from it (others edit them meanwhile)."""
    try:
        head = subprocess.run(["git", "log", "-1", "--format=%h %s"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()[:90]
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "engine", "gui"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "code: (git not available)"
    changed = [line[3:] for line in dirty if line.strip()]
    return f"code: {head}" + (f"; uncommitted changes in {', '.join(changed)}" if changed else "")


def main() -> None:
    began = time.perf_counter()
    print(code_measured())
    load = os.getloadavg()
    print(f"{os.cpu_count()} CPUs; load average at the start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          "(other processes on the machine slow every figure here)")
    print()
    figures = []
    for name, engine, bare in bench_engine.main():
        figures.append(Figure(f"engine/bare torch loop: {name}", f"{engine / bare:.3f}", ">= 0.9",
                              engine >= 0.9 * bare))
    print()
    figures += bench_gui.main()
    print()
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; `make bench` took "
          f"{time.perf_counter() - began:.0f} s")
    print()
    print_table(figures)


if __name__ == "__main__":
    main()
