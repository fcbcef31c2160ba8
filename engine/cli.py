"""The headless command line: ``run``, ``presets``, ``describe``, ``code`` and ``find``. Never imports Qt.

Exit codes: 0 done (a diverged run included: divergence is a result), 1 a run failed
inside torch, or the results could not all be written at the end (stderr says what was
and what was not), 2 the input cannot run (bad experiment, preset, state file or arguments,
--out or --save-state unusable: all checked before the first step), 130 interrupted.

Interrupts: SIGINT (Ctrl-C) and SIGTERM are the same request, and both exit 130 (SIGTERM
too: it is a request to stop, answered like Ctrl-C, not a crash). Training stops between
two steps of the whole session (every run has done the same steps), so a state saved then
resumes to an uninterrupted run's results byte for byte; the results so far and the state
are then written, and an interrupt that arrives while they are written waits until they
are. An interrupt before the first step writes nothing. A step is never cut short, so one
slow step (a big LBFGS run) delays the stop by that step.

Outputs: the three CSV files are written as one set (temporary files beside them, renamed
into place only when all are complete; see engine/results.py): an earlier set in --out is
replaced whole, and the summary says so, or left whole. The state file is written the same
way, on its own. If writing fails at the end (a full disk), what is complete is kept (the
new CSV files only if they replace nothing), no partial file is left, and exit is 1 (also
when interrupted: that the files are missing matters more). A signal the process was started
with ignored (``nohup``, ``cmd &`` in a script) stays ignored.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path

from .errors import ExperimentError, StateFileError
from .status import RunStatus

__all__ = ["add_commands", "main"]

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


def _source(parser) -> None:
    """An experiment file, or ``--preset NAME`` instead (run and code read experiments alike)."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("experiment", nargs="?", help="experiment file (TOML)")
    source.add_argument("--preset", metavar="NAME", help="a preset instead of a file (see: presets)")


def add_commands(subparsers) -> None:
    run = subparsers.add_parser("run", help="train an experiment headless and write CSV results",
                                description="Train every run of an experiment and write epochs.csv, "
                                            "steps.csv and events.csv.")
    _source(run)
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
    code = subparsers.add_parser("code", help="print a run as a plain PyTorch script that reproduces its CSVs",
                                 description="Print (or write) a standalone PyTorch script that trains a run of an "
                                             "experiment (every run, one after another, without --run) and, with "
                                             "--csv DIR, writes the epochs.csv and steps.csv 'run' writes, byte "
                                             "for byte.")
    _source(code)
    code.add_argument("--run", metavar="NAME", help="the run to write (default: every run)")
    code.add_argument("--out", metavar="FILE", help="write the script to FILE (default: print it)")
    code.set_defaults(handler=_code)
    find = subparsers.add_parser("find", help="a learning-rate range test of a run: find.csv, suggestions.csv",
                                 description="Train a run of an experiment while its lr sweeps from --start to "
                                             "--end (a learning-rate range test), write the curve (find.csv) and "
                                             "what each rule suggests (suggestions.csv), and print them. Nothing "
                                             "of the experiment changes.")
    _source(find)
    find.add_argument("--run", metavar="NAME", help="the run to test (default: the first)")
    find.add_argument("--start", metavar="LR", default="1e-7", help="the lr of the first step (default: 1e-7)")
    find.add_argument("--end", metavar="LR", default="10", help="the lr of the last step (default: 10)")
    find.add_argument("--iters", metavar="N", default="100", help="optimizer steps (default: 100)")
    find.add_argument("--mode", metavar="MODE", default="exp", help="exp (default) or linear")
    find.add_argument("--out", metavar="DIR", help="directory for the CSV files (default: results/<name>)")
    find.set_defaults(handler=_find)


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_INVALID


def _presets(args) -> int:
    from .presets import list_presets

    try:
        presets = list_presets()
    except ExperimentError as error:  # the data files are missing (a broken install)
        return _error(str(error))
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
    if spec.lr_note:
        print(textwrap.fill(f"The lr in param_groups (the lr column): {spec.lr_note}.", 88,
                            subsequent_indent="  ") + "\n")
    for param in spec.params.values():
        print(f"  {param.name}: {param.describe()}")
        if param.doc:
            print(textwrap.fill(param.doc, 88, initial_indent="      ", subsequent_indent="      "))
    return EXIT_OK


def _code(args) -> int:
    from .codegen import generate, run_index
    from .files import load_experiment, write_atomically
    from .presets import preset_path
    from .trial import trial_experiment

    try:
        path = preset_path(args.preset) if args.preset else Path(args.experiment)
    except ExperimentError as error:
        return _error(str(error))
    try:
        experiment = load_experiment(path)
        trial_experiment(experiment)  # what torch refuses: a script of it would fail
    except ExperimentError as error:  # a field's message names the file too; the file's own names it
        return _error(f"{path}: {error}" if error.path else str(error))
    try:
        index = None if args.run is None else run_index(experiment, args.run)
    except ExperimentError as error:
        return _error(f"--run: {error.message}")
    text = generate(experiment, index)
    if args.out is None:
        sys.stdout.write(text)
        return EXIT_OK
    if os.path.isdir(args.out):
        return _error(f"--out {args.out}: is a directory; name the script's file")
    try:
        write_atomically(args.out, text)
    except OSError as error:
        return _error(f"--out {args.out}: {_reason(error)}")
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
            if run.status in (RunStatus.DIVERGED, RunStatus.FAILED) and i not in self.warned:
                self.warned.add(i)
                event = run.recorder.events[-1]
                message = (f"warning: run {run.name!r} {run.status} at epoch {event.epoch}, step {event.step}: "
                           f"{event.detail}; its results stop there")
                if self.bar is not None:
                    self.bar.write(message, file=sys.stderr)
                else:
                    print(message, file=sys.stderr)

    def close(self) -> None:
        self.warn_new()
        if self.bar is not None:
            self.bar.close()


def _summary(session, files, state: Path | None) -> None:
    width = max(len(r.name) for r in session.runs)
    print(f"{'run':<{width}}  {'status':<8}  {'epochs':>6}  {'train_loss':>11}  {'val_loss':>11}  last lr")
    for run in session.runs:
        recorder = run.recorder  # the last epoch's row only: no copy of the whole run
        r = recorder.snapshot(steps_from=recorder.n_steps, epochs_from=max(recorder.n_epochs - 1, 0),
                              events_from=len(recorder.events))
        train = f"{r.train_loss[-1]:.4g}" if len(r.train_loss) else "-"
        val = f"{r.val_loss[-1]:.4g}" if len(r.val_loss) and not math.isnan(r.val_loss[-1]) else "-"
        lrs = ", ".join(f"{g['lr']:.4g}" for g in run.optimizer.param_groups)
        print(f"{run.name:<{width}}  {run.status:<8}  {recorder.n_epochs:>6}  {train:>11}  {val:>11}  {lrs}")
    print("wrote " + ", ".join(str(p) for p in [*files.written, *([state] if state else [])])
          + _replaced_note(files))


class _Interrupt:
    """SIGINT (Ctrl-C) and SIGTERM only set a flag while ``run`` works.

    Training checks it between two steps of the whole session (every run has done step t,
    or none has), so the state saved is one an uninterrupted run passes through; writing is
    never cut short. The handlers are installed only in the main thread, and not for a
    signal the process was started with ignored (``nohup``, background jobs).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.received: int | None = None
        self._previous: dict = {}

    def requested(self) -> bool:
        return self.received is not None

    def _handle(self, signum, frame) -> None:
        self.received = signum  # nothing else: this runs between any two bytecodes of the main thread

    def __enter__(self) -> "_Interrupt":
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                if signal.getsignal(sig) is not signal.SIG_IGN:
                    self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, signal.SIG_DFL if previous is None else previous)


class _Snapshots(Sequence):
    """Each run's results, copied only when read: the CSV writer reads one run at a time, so
    writing holds one run's copy at most, not every run's."""

    def __init__(self, session):
        self.runs = session.runs

    def __len__(self) -> int:
        return len(self.runs)

    def __getitem__(self, index):
        return self.runs[index].recorder.snapshot()

    def __iter__(self):  # (Sequence's own keeps the item it gave until the next one is made)
        for run in self.runs:
            yield run.recorder.snapshot()


def _nearest_existing(path: Path) -> Path:
    while not os.path.lexists(path) and path.parent != path:
        path = path.parent
    return path


def _writable_dir(path: Path) -> bool:
    return os.access(path, os.W_OK | os.X_OK)


def _check_out(out: Path, names: Sequence[str] | None = None) -> str | None:
    """Why results (``names``: run's three files by default) cannot be written into ``out`` (None if they can)."""
    from .results import RESULT_FILES

    if os.path.lexists(out):
        if not out.is_dir():
            return "exists and is not a directory"
        if not _writable_dir(out):
            return "the directory is not writable"
        for name in names or RESULT_FILES:
            earlier = out / name
            if earlier.is_dir() and not earlier.is_symlink():
                return f"{name} there is a directory, where the results would go"
            if os.path.lexists(earlier) and not earlier.is_file():
                return f"{name} there is not a regular file (it would be replaced)"
            if earlier.exists() and not os.access(earlier, os.W_OK):
                return (f"{name} there is read-only; earlier results would be replaced as a set "
                        f"(make them writable, remove them, or choose another --out)")
        return None
    base = _nearest_existing(out.parent)
    if not base.is_dir():
        return f"cannot be created: {base} is not a directory"
    if not _writable_dir(base):
        return f"cannot be created: {base} is not writable"
    return None


def _check_state(state: Path, out: Path) -> str | None:
    """Why the training state cannot be written to ``state`` (None if it can)."""
    from .results import RESULT_FILES

    if state.absolute() == out.absolute():
        return "is the directory the results go to"
    if state.is_dir():
        return "is a directory"
    if os.path.lexists(state) and not state.is_file():  # a device (/dev/null), a FIFO: never replaced by a file
        return "exists and is not a regular file (it would be replaced)"
    if state.absolute() in {(out / name).absolute() for name in RESULT_FILES}:
        return "is one of the result files"
    directory = state.absolute().parent
    if not os.path.lexists(directory):
        if directory == out.absolute():
            return None  # the results' directory, created before the state is written
        return f"the directory {state.parent} does not exist"
    if not directory.is_dir():
        return f"{state.parent} is not a directory"
    if not _writable_dir(directory):
        return f"the directory {state.parent} is not writable"
    if state.exists() and not os.access(state, os.W_OK):
        return "is read-only"
    return None


def _check_outputs(args, out: Path) -> str | None:
    """--out and --save-state, checked before anything trains: a message naming the path, or None."""
    try:
        problem = _check_out(out)
        if problem:
            return f"--out {out}: {problem}" if args.out else f"--out (default) {out}: {problem}"
        if args.save_state:
            problem = _check_state(Path(args.save_state), out)
            if problem:
                return f"--save-state {args.save_state}: {problem}"
    except OSError as error:  # e.g. a name too long
        return f"{error.filename or out}: {error.strerror or error}"
    return None


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__


def _write_state(session, path: Path) -> BaseException | None:
    """Save the state (atomically); the error if it could not be, with no partial file left."""
    from .checkpoint import save_state

    try:
        save_state(session, path)
    except (OSError, RuntimeError) as error:  # torch's writer reports a full disk as a RuntimeError
        with contextlib.suppress(OSError):  # save_state writes NAME.partial, then renames it
            path.with_name(path.name + ".partial").unlink(missing_ok=True)
        return error
    return None


def _replaced_note(files) -> str:
    return f" (earlier results in {files.paths[0].parent} replaced)" if files.replaced else ""


def _run(args) -> int:
    with _Interrupt() as interrupt:
        return _train_and_write(args, interrupt)


def _train_and_write(args, interrupt: _Interrupt) -> int:
    out = Path(args.out) if args.out else Path("results") / (args.preset or Path(args.experiment).stem)
    problem = _check_outputs(args, out)
    if problem:
        return _error(problem)

    from .checkpoint import load_state
    from .files import load_experiment
    from .presets import preset_path
    from .results import write_result_files
    from .session import TrainingSession
    from .torch_setup import configure_torch
    from .trial import trial_experiment

    configure_torch()  # one intra-op thread, as the window's engine (engine/torch_setup.py)
    try:
        path = preset_path(args.preset) if args.preset else Path(args.experiment)
        experiment = trial_experiment(load_experiment(path))  # what torch refuses, before the first step
        state = load_state(args.resume) if args.resume else None
        session = TrainingSession(experiment, state=state)
    except (ExperimentError, StateFileError) as error:
        return _error(str(error))
    start = session.position
    reporter = _Reporter(session, args.quiet)
    try:
        session.run(on_epoch=reporter, stop_requested=interrupt.requested)
    finally:
        reporter.close()
    if interrupt.requested() and session.position == start:
        print("interrupted before the first step; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED

    files = write_result_files(_Snapshots(session), out, keep_complete=True)
    state_path = Path(args.save_state) if args.save_state else None
    state_error = _write_state(session, state_path) if state_path else None

    where = f"at epoch {session.epoch} (step {session.position} of {session.total_steps})"
    if files.errors or state_error:
        if interrupt.requested():
            print(f"interrupted {where}", file=sys.stderr)
        if len({id(error) for error in files.errors.values()}) == 1 and len(files.errors) > 1:
            print(f"error: cannot write {out}: {_reason(next(iter(files.errors.values())))}", file=sys.stderr)
        else:
            for failed, error in files.errors.items():
                print(f"error: cannot write {failed}: {_reason(error)}", file=sys.stderr)
        if state_error:
            print(f"error: cannot write the state {state_path}: {_reason(state_error)}", file=sys.stderr)
        written = [*files.written, *([state_path] if state_path and not state_error else [])]
        missing = [*files.not_written, *([state_path] if state_error else [])]
        print("written: " + (", ".join(map(str, written)) or "nothing") + _replaced_note(files), file=sys.stderr)
        print("not written: " + ", ".join(map(str, missing))
              + (f" (the earlier results in {out} were left as they were)" if files.earlier_kept else ""),
              file=sys.stderr)
        return EXIT_FAILED
    if interrupt.requested():
        saved = f", the state to {state_path}" if state_path else ""
        print(f"interrupted {where}; results so far written to {out}{saved}{_replaced_note(files)}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    if not args.quiet:
        _summary(session, files, state_path)
    return EXIT_FAILED if session.failed else EXIT_OK


FIND_FILES = ("find.csv", "suggestions.csv")
FIND_OPTIONS = {"start_lr": "--start", "end_lr": "--end", "num_iter": "--iters", "mode": "--mode"}


def _find_options(args):
    """The range test's options from the command line; an ExperimentError naming the option otherwise."""
    from .range_test import RangeTestOptions

    values = {}
    for field, flag, kind in (("start_lr", "--start", float), ("end_lr", "--end", float),
                              ("num_iter", "--iters", int)):
        text = getattr(args, flag[2:])
        try:
            values[field] = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise ExperimentError(flag, f"expected {what}, got {text!r}") from None
    try:
        return RangeTestOptions(**values, mode=args.mode)
    except ExperimentError as error:
        if error.path == "start_lr" and values["start_lr"] > 0 and values["end_lr"] > 0:
            raise ExperimentError("--start", f"expected an lr below --end ({args.end}), got {args.start}") from None
        raise ExperimentError(FIND_OPTIONS.get(error.path, error.path), error.message) from None


def _find(args) -> int:
    with _Interrupt() as interrupt:
        return _find_and_write(args, interrupt)


def _find_and_write(args, interrupt: _Interrupt) -> int:
    try:
        options = _find_options(args)
    except ExperimentError as error:
        return _error(f"{error.path}: {error.message}")
    out = Path(args.out) if args.out else Path("results") / (args.preset or Path(args.experiment).stem)
    try:
        problem = _check_out(out, FIND_FILES)
    except OSError as error:
        problem = error.strerror or str(error)
    if problem:
        return _error(f"--out {out}: {problem}" if args.out else f"--out (default) {out}: {problem}")

    from .codegen import run_index
    from .files import load_experiment
    from .presets import preset_path
    from .range_test import RangeTest, range_test_trainer
    from .torch_setup import configure_torch
    from .trial import trial_experiment

    configure_torch()
    try:
        path = preset_path(args.preset) if args.preset else Path(args.experiment)
        experiment = trial_experiment(load_experiment(path))
    except ExperimentError as error:
        return _error(str(error))
    try:
        index = 0 if args.run is None else run_index(experiment, args.run)
    except ExperimentError as error:
        return _error(f"--run: {error.message}")
    test = RangeTest(range_test_trainer(experiment, index), options)
    steps = test.steps()
    while not interrupt.requested():  # between two steps, as run does
        if next(steps, None) is None:
            break
    steps.close()  # the trainer is put back; the curve so far is kept
    if interrupt.requested() and not len(test):
        print("interrupted before the first step; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    result = test.result(f"interrupted at step {len(test)}" if interrupt.requested() else None)
    written, error = _write_find(result, out)
    run = experiment.runs[index]
    groups = f" (the lr of param group {result.reference_group}; the others keep their ratio to it)" \
        if len(test.trainer.optimizer.param_groups) > 1 else ""
    print(f"range test of run {run.name!r}{groups}: {len(test)} of {options.num_iter} steps, lr {options.start_lr:g} "
          f"to {options.end_lr:g} ({options.mode})" + (f"; {result.stop_reason}" if result.stop_reason else ""))
    width = max(len(s.rule) for s in result.suggestions)
    for s in result.suggestions:
        if s.answered:
            print(f"  {s.rule:<{width}}  lr {s.lr:.4g}  (smoothed loss {s.loss:.4g} at step {s.step}: {s.note})")
        else:
            print(f"  {s.rule:<{width}}  no suggestion: {s.reason}")
    if error is not None:
        print(f"error: cannot write {error[0]}: {_reason(error[1])}", file=sys.stderr)
        print("written: " + (", ".join(map(str, written)) or "nothing"), file=sys.stderr)
        return EXIT_FAILED
    print("wrote " + ", ".join(map(str, written)))
    return EXIT_INTERRUPTED if interrupt.requested() else EXIT_OK


def _write_find(result, out: Path) -> tuple[list[Path], tuple[Path, BaseException] | None]:
    """find.csv and suggestions.csv, each written whole (replace_atomically) or not at all."""
    import csv

    from .files import replace_atomically
    from .range_test import COLUMNS

    def writer(rows, columns):
        def write(tmp: Path) -> None:
            with open(tmp, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(columns)
                w.writerows(rows)
        return write

    curve = zip(result.step.tolist(), result.lr.tolist(), result.loss.tolist(), result.smoothed.tolist())
    suggestions = [(s.rule, "" if s.lr is None else s.lr, "" if s.loss is None else s.loss)
                   for s in result.suggestions]
    written: list[Path] = []
    for name, rows, columns in (("find.csv", curve, COLUMNS), ("suggestions.csv", suggestions, ("rule", "lr", "loss"))):
        path = out / name
        try:
            out.mkdir(parents=True, exist_ok=True)
            replace_atomically(path, writer(rows, columns))
        except OSError as error:
            return written, (path, error)
        written.append(path)
    return written, None


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
