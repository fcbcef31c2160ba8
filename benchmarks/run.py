"""`make bench`: every benchmark, figures and ratios on stdout (no pass/fail: see the targets)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_engine, bench_gui  # noqa: E402

if __name__ == "__main__":
    bench_engine.main()
    print()
    bench_gui.main()
