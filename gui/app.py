"""Opening the desktop window.

The window itself is the next issue (#3); until it lands, ``python main.py`` says so and
points to the headless commands instead of failing with an import error.
"""

from __future__ import annotations

import sys


def run_app(args) -> int:
    print("The desktop window is not built yet (issue #3). Meanwhile the engine runs headless:\n"
          "  python main.py presets\n"
          "  python main.py run --preset manual-vs-steplr --out results/cmp\n"
          "  python main.py --help", file=sys.stderr)
    return 2
