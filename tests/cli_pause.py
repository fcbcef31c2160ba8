"""Run ``main.py`` with a pause at one chosen moment, so a test can send a signal exactly there.

    python tests/cli_pause.py MOMENT PAUSED_FD GO_FD WAKE_FD main.py-arguments...

(the tests run it in a process forked by tests/cli_zygote.py, which calls :func:`install`).

MOMENT is one of

- ``step:RUN:T``: inside session step T, just before run RUN does its step T (the runs
  before it have done theirs): the middle of a session step, where an interrupt used to land;
- ``write:NAME``: while writing the result file NAME, after its first chunk of rows;
- ``state``: after the result files, just before the training state is written;
- ``load``: while the session is being built, before the first step.

At the moment, the process writes a byte to the pipe ``PAUSED_FD`` and waits for one on
``GO_FD``: the test writes it (a test that sends no signal), or the CLI's signal handler, when
it has run, writes it to ``WAKE_FD`` (the same pipe's other end), then it carries on. No file
is polled, nothing sleeps. Nothing else changes: the code under test is main.py's.
"""

from __future__ import annotations

import os
import runpy
import select
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import engine.checkpoint  # noqa: E402
import engine.cli  # noqa: E402
import engine.results  # noqa: E402
import engine.run  # noqa: E402
import engine.session  # noqa: E402


def install(moment: str, paused_fd: int, go_fd: int, wake_fd: int) -> None:
    """Patch this process so that main.py pauses at ``moment`` (see the module docstring)."""

    def pause() -> None:
        os.write(paused_fd, b"p")
        # (select returns at once when the handler has written; the bound only keeps a process whose
        # test died from waiting forever)
        if select.select([go_fd], [], [], 300)[0]:
            os.read(go_fd, 1)

    handle = engine.cli._Interrupt._handle

    def _handle(self, signum, frame):
        handle(self, signum, frame)
        os.write(wake_fd, b"s")

    engine.cli._Interrupt._handle = _handle
    kind, _, where = moment.partition(":")
    if kind == "step":
        run_index, t_pause = map(int, where.split(":"))
        step, session_step = engine.run.RunTrainer.step, engine.session.TrainingSession.step
        in_session_step = []  # (the experiment's trial step before training is not one)

        def _step(self, t, commands=None):
            if in_session_step and self.index == run_index and t == t_pause:
                pause()
            return step(self, t, commands)

        def _session_step(self):
            in_session_step.append(True)
            try:
                return session_step(self)
            finally:
                in_session_step.pop()

        engine.run.RunTrainer.step = _step
        engine.session.TrainingSession.step = _session_step
    elif kind == "write":
        write = engine.results._write

        def _write(path, columns, chunks):
            def paused_after_first():
                chunks_left = iter(chunks)
                first = next(chunks_left, None)
                if first is not None:
                    yield first
                pause()
                yield from chunks_left

            return write(path, columns, paused_after_first() if path.name == where else chunks)

        engine.results._write = _write
    elif kind == "state":
        save_state = engine.checkpoint.save_state

        def _save_state(session, path):
            pause()
            return save_state(session, path)

        engine.checkpoint.save_state = _save_state
    elif kind == "load":
        init = engine.session.TrainingSession.__init__

        def _init(self, *args, **kwargs):
            pause()
            return init(self, *args, **kwargs)

        engine.session.TrainingSession.__init__ = _init
    else:
        raise SystemExit(f"unknown moment {moment!r}")


if __name__ == "__main__":
    install(sys.argv[1], *map(int, sys.argv[2:5]))
    sys.argv = [str(ROOT / "main.py"), *sys.argv[5:]]
    runpy.run_path(str(ROOT / "main.py"), run_name="__main__")
