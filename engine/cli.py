"""The headless command line: ``run``, ``presets`` and ``describe``. Never imports Qt.

Exit codes: 0 done (a diverged run included: divergence is a result), 1 a run failed
inside torch, 2 the input cannot run (bad experiment, preset, state file or arguments),
130 interrupted (results so far are still written).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from .errors import ExperimentError, StateFileError

__all__ = ["add_commands", "main"]

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_commands(subparsers) -> None:
    run = subparsers.add_parser("run", help="train an experiment headless and write CSV results",
                                description="Train every run of an experiment and write epochs.csv, "
                                            "steps.csv and events.csv.")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("experiment", nargs="?", help="experiment file (TOML)")
    source.add_argument("--preset", metavar="NAME", help="a preset instead of a file (see: presets)")
    run.add_argument("--out", metavar="DIR", help="directory for the CSV files (default: results/<name>)")
    run.add_argument("--save-state", metavar="FILE", help="write the training state at the end")
    run.add_argument("--resume", metavar="FILE", help="continue a saved state up to the experiment's epochs")
    run.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    run.set_defaults(handler=_run)
    presets = subparsers.add_parser("presets", help="list the presets (the article's examples, in its order)")
    presets.set_defaults(handler=_presets)
    describe = subparsers.add_parser("describe", help="list optimizers and schedulers, or the options of one")
    describe.add_argument("name", nargs="?", help="an optimizer or scheduler, e.g. StepLR")
    describe.set_defaults(handler=_describe)


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_INVALID


def _presets(args) -> int:
    from .presets import list_presets

    presets = list_presets()
    width = max(len(p.name) for p in presets)
    for preset in presets:
        text = f"{preset.title}: {preset.description}" if preset.description else preset.title
        print(f"{preset.name:<{width}}  {text}")
    return EXIT_OK


def _describe(args) -> int:
    from .registry import OPTIMIZERS, SCHEDULERS

    if args.name is None:
        for title, table in (("Optimizers", OPTIMIZERS), ("Schedulers", SCHEDULERS)):
            print(f"{title}:")
            for name, spec in table.items():
                note = f"  (not available: {spec.unsupported})" if spec.unsupported else ""
                print(f"  {name}{note}")
        return EXIT_OK
    spec = OPTIMIZERS.get(args.name) or SCHEDULERS.get(args.name)
    if spec is None:
        return _error(f"unknown optimizer or scheduler {args.name!r}; see: python main.py describe")
    print(textwrap.fill(f"{spec.name}: {spec.summary}", 88, subsequent_indent="  ") + "\n")
    if spec.torch_summary and spec.torch_summary != spec.summary:
        print(textwrap.fill(f"torch's docs: {spec.torch_summary}", 88, subsequent_indent="  ") + "\n")
    if spec.unsupported:
        print(f"Not available here: {spec.unsupported}\n")
    if spec.lr_edit_effect:
        print(f"An lr edited mid-run: {spec.lr_edit_effect}.\n")
    for param in spec.params.values():
        print(f"  {param.name}: {param.describe()}")
        if param.doc:
            print(textwrap.fill(param.doc, 88, initial_indent="      ", subsequent_indent="      "))
    return EXIT_OK


class _Reporter:
    """Progress bar on stderr (only on a terminal) and a warning as each run diverges or fails."""

    def __init__(self, session, quiet: bool):
        self.session = session
        self.bar = None
        self.warned: set[int] = set()
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=session.experiment.epochs, initial=session.epoch, unit="epoch",
                            file=sys.stderr, dynamic_ncols=True, leave=False)

    def __call__(self, progress) -> None:
        if self.bar is not None:
            self.bar.update(progress.epoch - self.bar.n)
        self.warn_new()

    def warn_new(self) -> None:
        for i, run in enumerate(self.session.runs):
            if run.status in ("diverged", "failed") and i not in self.warned:
                self.warned.add(i)
                event = run.recorder.events[-1]
                what = "diverged" if run.status == "diverged" else "failed"
                message = (f"warning: run {run.name!r} {what} at epoch {event.epoch}, step {event.step}: "
                           f"{event.detail}; its results stop there")
                if self.bar is not None:
                    self.bar.write(message, file=sys.stderr)
                else:
                    print(message, file=sys.stderr)

    def close(self) -> None:
        self.warn_new()
        if self.bar is not None:
            self.bar.close()


def _summary(session, paths) -> None:
    import math

    results = session.snapshot()
    width = max(len(r.name) for r in results)
    print(f"{'run':<{width}}  {'status':<8}  {'epochs':>6}  {'train_loss':>11}  {'val_loss':>11}  last lr")
    for run, r in zip(session.runs, results):
        train = f"{r.train_loss[-1]:.4g}" if len(r.train_loss) else "-"
        val = f"{r.val_loss[-1]:.4g}" if len(r.val_loss) and not math.isnan(r.val_loss[-1]) else "-"
        lrs = ", ".join(f"{g['lr']:.4g}" for g in run.optimizer.param_groups)
        print(f"{r.name:<{width}}  {run.status:<8}  {len(r.epoch):>6}  {train:>11}  {val:>11}  {lrs}")
    print("wrote " + ", ".join(str(p) for p in paths))


def _run(args) -> int:
    from .checkpoint import load_state, save_state
    from .files import load_experiment
    from .presets import preset_path
    from .results import write_results
    from .session import TrainingSession

    import torch

    # This network's tensors are far too small for intra-op threads to pay; one thread is a
    # little faster and gives the same numbers as the window (which needs one: see gui/app.py).
    torch.set_num_threads(1)
    try:
        path = preset_path(args.preset) if args.preset else Path(args.experiment)
        experiment = load_experiment(path)
        state = load_state(args.resume) if args.resume else None
        session = TrainingSession(experiment, state=state)
    except (ExperimentError, StateFileError) as error:
        return _error(str(error))
    out = Path(args.out) if args.out else Path("results") / (args.preset or Path(args.experiment).stem)
    reporter = _Reporter(session, args.quiet)
    code = EXIT_OK
    try:
        session.run(on_epoch=reporter)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    finally:
        reporter.close()
    try:
        paths = write_results(session.snapshot(), out)
        if args.save_state:
            save_state(session, args.save_state)
            paths.append(Path(args.save_state))
    except OSError as error:
        return _error(f"cannot write results: {error}")
    if code == EXIT_INTERRUPTED:
        print(f"interrupted at epoch {session.epoch}; results so far written to {out}", file=sys.stderr)
        return code
    if not args.quiet:
        _summary(session, paths)
    return EXIT_FAILED if session.failed else EXIT_OK


def build_parser(prog: str = "lrlab") -> tuple[argparse.ArgumentParser, object]:
    parser = argparse.ArgumentParser(prog=prog, description="A learning-rate laboratory for PyTorch.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_commands(subparsers)
    return parser, subparsers


def main(argv: list[str] | None = None) -> int:
    parser, _ = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return EXIT_INVALID
    return args.handler(args)
