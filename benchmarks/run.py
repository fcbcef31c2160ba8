"""`make bench`: every benchmark, the details as they are measured, then one table of the figures
against issue 7's targets (ok / MISSED; "-" for figures reported without a target)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


def main() -> None:
    began = time.perf_counter()
    load = os.getloadavg()
    print(f"{os.cpu_count()} CPUs; load average at the start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          "(other processes on the machine slow every figure here)")
    print()
    figures = []
    for name, engine, bare in bench_engine.main():
        figures.append(Figure(f"engine/bare torch loop: {name}", f"{engine / bare:.3f}", ">= 0.9", engine >= 0.9 * bare))
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
