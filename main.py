"""Entry point: ``python main.py run|presets|describe ...`` (headless) or ``python main.py [gui]`` (window).

The headless commands import only ``engine``; Qt is imported only for the window.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    from engine.cli import build_parser

    parser, subparsers = build_parser(prog="python main.py")
    gui = subparsers.add_parser("gui", help="open the desktop window (the default)")
    gui.add_argument("experiment", nargs="?", help="an experiment file to open")
    gui.set_defaults(handler=_gui)
    args = parser.parse_args(argv or ["gui"])
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    return args.handler(args)


def _gui(args) -> int:
    from gui.app import run_app

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
