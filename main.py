"""Entry point: ``python main.py run|presets|describe ...`` (headless) or ``python main.py [gui]`` (window).

The headless commands import only ``engine``; Qt is imported only for the window.
"""

from __future__ import annotations

import argparse
import os
import sys


def _prog() -> str:
    """How the person started it: ``python main.py`` from the checkout, ``lrlab`` installed."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "python main.py" if name in ("", "main.py", "-c") else name


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    from engine.cli import build_parser

    parser, subparsers = build_parser(prog=_prog())
    gui = subparsers.add_parser("gui", help="open the desktop window (the default)",
                                description="Open the desktop window.")
    _gui_arguments(gui)
    gui.set_defaults(handler=_gui)
    args = parser.parse_args(argv or ["gui"])
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    return args.handler(args)


def _gui_arguments(parser) -> None:
    # Mirrors gui.app.add_arguments without importing Qt for the headless commands.
    parser.add_argument("experiment", nargs="?", help="an experiment file to open")
    parser.add_argument("--preset", metavar="NAME", help="open a preset instead of a file")
    parser.add_argument("--guide", nargs="?", const="", metavar="PAGE",
                        help="open the Guide in front, at PAGE (a number or a page's name; default: the first); "
                             "with --autorun and no experiment, the page's experiment is loaded and run")
    parser.add_argument("--autorun", action="store_true", help="start training at once")
    parser.add_argument("--screenshot", metavar="PNG",
                        help="save a picture of the window (when training ends with --autorun, else once shown)")
    parser.add_argument("--quit", action="store_true", help="exit after the screenshot (or the training)")
    parser.add_argument("--present", action="store_true",
                        help="presentation mode: full screen, larger text and lines, big controls (F11 toggles)")
    parser.add_argument("--scale", type=float, metavar="X",
                        help="presentation scale, 1.25 to 2 (remembered; default 1.5)")
    parser.add_argument("--size", metavar="WxH", help="the window's size, e.g. 1024x768 (screenshots)")
    parser.add_argument("--settings", metavar="FILE",
                        help="keep the window's settings in FILE instead of your own "
                             "(also: environment variable LRLAB_SETTINGS)")


def gui_main(argv: list[str] | None = None) -> int:
    """``lrlab-gui [FILE] [--preset NAME] ...``: the window's own arguments, without the ``gui`` word."""
    parser = argparse.ArgumentParser(prog=_prog(), description="Open the desktop window.")
    _gui_arguments(parser)
    return _gui(parser.parse_args(sys.argv[1:] if argv is None else list(argv)))


def _gui(args) -> int:
    from gui.app import run_app

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
