"""Real processes for the tests of processes, without importing torch in each: forked from a "zygote".

Two kinds of zygote, started once per test process when first asked for:

- ``Forked(ARGS)``: ``python main.py ARGS``. The zygote has imported torch, the engine and
  main.py once; each child runs exactly what ``python main.py ARGS`` runs, ``main.main(ARGS)``,
  and ends with its exit code. What a fresh interpreter itself does (imports, Qt never loaded,
  the wheel) is tested with real ``python`` processes elsewhere (test_engine_is_qt_free.py,
  test_import_contract.py, test_wheel.py).
- ``Forked([SCRIPT, *ARGS], kind="script", cwd=DIR)``: ``python -I SCRIPT ARGS`` as a learner runs
  a script somewhere else. This zygote is started in Python's isolated mode (``-I``) from an
  empty temporary directory and imports torch and the standard library only, never the
  project; it also drops the finder of the project's editable install (which ``-I`` keeps), so
  nothing of the project can be imported in it or its children. Each child changes to its own
  directory and runs the script as ``__main__`` (runpy), with ``sys.argv`` set.

Either child is a real process (its own pid, signal handlers, exit code, file-size limit,
stdin, stdout, stderr and environment). The zygote forks when asked over a socket pair
(SOCK_SEQPACKET: one message a request, the child's stdin, stdout, stderr and pause pipes passed
along with it), and reports each child's pid, and later its exit status, which only it can wait
for. torch has computed nothing in a zygote, so a forked child starts it as a fresh process would.
Each test process (each pytest-xdist worker) has zygotes of its own.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import socket
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 300


# -- the test's side -------------------------------------------------------------------------------
KINDS = ("main", "script")
# What is never importable in a script zygote's children: the project's packages and modules.
PROJECT_MODULES = ("engine", "gui", "main", "tests")


class Zygote:
    def __init__(self, kind: str = "main"):
        import subprocess
        import tempfile

        assert kind in KINDS, kind
        self.kind = kind
        self.home = None
        if kind == "main":
            command, cwd = [sys.executable, str(Path(__file__))], ROOT
        else:  # isolated mode, from an empty directory of its own
            self.home = tempfile.mkdtemp(prefix="lrlab-script-zygote-")
            command, cwd = [sys.executable, "-I", str(Path(__file__))], self.home
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen([*command, kind, str(theirs.fileno())], cwd=cwd,
                                        pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        theirs.close()
        self.sock = ours
        self.lock = threading.Lock()       # one request at a time
        self.changed = threading.Condition()
        self.replies: list[dict] = []      # {"pid": ...} answers to requests, in order
        self.exits: dict[int, int] = {}    # pid -> exit code (negative: the signal that ended it)
        self.gone = False
        self.reader = threading.Thread(target=self._read, name="cli-zygote", daemon=True)
        self.reader.start()
        with self.changed:
            assert self.changed.wait_for(lambda: self.gone or self.replies, TIMEOUT), "the zygote never started"
            assert not self.gone and self.replies.pop(0) == {"ready": True}, "the zygote failed to start"

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except OSError:
                data = b""
            with self.changed:
                if not data:
                    self.gone = True
                else:
                    message = json.loads(data)
                    if "exit" in message:
                        self.exits[message["exit"]] = message["code"]
                    else:
                        self.replies.append(message)
                self.changed.notify_all()
            if not data:
                return

    def fork(self, request: dict, fds: list[int]) -> int:
        with self.lock:
            socket.send_fds(self.sock, [json.dumps(request).encode()], fds)
            with self.changed:
                assert self.changed.wait_for(lambda: self.gone or self.replies, TIMEOUT), "no answer from the zygote"
                assert not self.gone, "the zygote ended"
                return self.replies.pop(0)["pid"]

    def wait(self, pid: int, timeout: float | None) -> int | None:
        with self.changed:
            self.changed.wait_for(lambda: self.gone or pid in self.exits, timeout)
            return self.exits.get(pid)

    def close(self) -> None:
        """End the zygote (its children, each the test's own, end by themselves). It only forks and
        holds nothing to save, so it is killed, not asked: no guess at how long it may take."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes our reader thread
        except OSError:
            pass
        self.sock.close()
        self.process.kill()
        self.process.wait()
        if self.home is not None:
            import shutil

            shutil.rmtree(self.home, ignore_errors=True)


_zygotes: dict[str, Zygote] = {}


def zygote(kind: str = "main") -> Zygote:
    if kind not in _zygotes or _zygotes[kind].gone:
        _zygotes[kind] = Zygote(kind)
        atexit.register(_zygotes[kind].close)
    return _zygotes[kind]


class Forked:
    """What the tests use of a ``subprocess.Popen`` (text mode), for a child of a zygote: ``python
    main.py ARGS`` (kind "main", from the checkout) or ``python -I ARGS`` (kind "script": ARGS[0]
    is the script, run from ``cwd``). ``env``: the child's whole environment (default: this
    process's when the zygote started)."""

    def __init__(self, args, *, kind: str = "main", cwd: str | os.PathLike | None = None,
                 env: dict[str, str] | None = None, moment: str | None = None, stderr: int | None = None,
                 ignore_sigint: bool = False, file_size_limit: int | None = None):
        assert kind == "main" or moment is None, "pause moments are main.py's"
        self.args = [str(a) for a in args]
        self.kind = kind
        self.returncode: int | None = None
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe() if stderr is None else (None, stderr)
        stdin = os.open(os.devnull, os.O_RDONLY)
        fds = [stdin, out_w, err_w]
        self._go_w = paused_r = None
        if moment is not None:
            paused_r, paused_w = os.pipe()
            go_r, self._go_w = os.pipe()
            fds += [paused_w, go_r, self._go_w]
        if cwd is None:
            assert kind == "main", "a script runs from a directory of its own"
            cwd = ROOT
        request = {"args": self.args, "cwd": str(cwd), "env": env, "moment": moment,
                   "ignore_sigint": ignore_sigint, "file_size_limit": file_size_limit}
        try:
            self.pid = zygote(kind).fork(request, fds)
        finally:
            for fd in fds:
                if fd not in (stderr, self._go_w):
                    os.close(fd)
        self._out = _Collector(out_r)
        self._err = _Collector(err_r) if err_r is not None else None
        if paused_r is not None:
            try:
                # a byte at the pause; nothing (end of file) when the process ended first
                ready = select.select([paused_r], [], [], TIMEOUT)[0] and os.read(paused_r, 1)
            finally:
                os.close(paused_r)
            if not ready:
                self.kill()
                _, err = self.communicate()
                raise AssertionError(f"main.py did not reach {moment} (exit {self.returncode}): {err[-2000:]}")

    def go(self) -> None:
        """Let a paused process carry on."""
        os.write(self._go_w, b"g")

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = zygote(self.kind).wait(self.pid, 0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = zygote(self.kind).wait(self.pid, timeout)
        if self.returncode is None:
            import subprocess

            raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode

    def communicate(self, timeout: float | None = TIMEOUT) -> tuple[str, str]:
        try:
            self.wait(timeout)
            out = self._out.text(timeout)
            err = self._err.text(timeout) if self._err is not None else ""
        finally:
            if self._go_w is not None:
                os.close(self._go_w)
                self._go_w = None
        return out, err


class _Collector:
    """Reads a child's pipe to its end in a thread (a full pipe would stop the child)."""

    def __init__(self, fd: int):
        self.fd, self.chunks = fd, []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while data := os.read(self.fd, 1 << 16):
                self.chunks.append(data)
        finally:
            os.close(self.fd)

    def text(self, timeout: float | None) -> str:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the child's output never ended"
        return b"".join(self.chunks).decode(errors="replace")


# -- the zygote's side -----------------------------------------------------------------------------
def _serve(kind: str, sock: socket.socket) -> None:
    import warnings

    if kind == "main":
        sys.path.insert(0, str(ROOT))
        import engine.cli  # noqa: F401
        import engine.session  # noqa: F401
        import main  # noqa: F401
        import tests.cli_pause  # noqa: F401
    else:
        _forget_the_project()
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import torch._dynamo  # noqa: F401 - what the first optimizer imports (about 1.6 s); nothing computed

    assert torch.get_num_threads() >= 1
    if kind == "script":
        _assert_the_project_cannot_be_imported()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sock.send(json.dumps({"ready": True}).encode())
    while True:
        ready = select.select([sock, wake_r], [], [])[0]
        if wake_r in ready:
            os.read(wake_r, 4096)
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            sock.send(json.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}).encode())
        if sock in ready:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 8)
            if not data:
                return  # the tests have ended
            pid = os.fork()
            if pid == 0:
                _child(kind, sock, (wake_r, wake_w), json.loads(data), fds)
            for fd in fds:
                os.close(fd)
            sock.send(json.dumps({"pid": pid}).encode())


def _forget_the_project() -> None:
    """Drop what the project's editable install adds to every interpreter of the venv, even an
    isolated one (a meta path finder and a path hook): elsewhere, a learner has torch, not lrlab."""
    import importlib

    def editable(obj) -> bool:
        return "__editable__" in (getattr(obj, "__module__", None) or getattr(type(obj), "__module__", ""))

    sys.meta_path[:] = [finder for finder in sys.meta_path if not editable(finder)]
    sys.path_hooks[:] = [hook for hook in sys.path_hooks if not editable(hook)]
    sys.path[:] = [entry for entry in sys.path if "__editable__" not in entry]
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()


def _assert_the_project_cannot_be_imported() -> None:
    import importlib.util

    root = os.path.realpath(ROOT)
    on_path = [entry for entry in sys.path if os.path.realpath(entry or os.getcwd()) == root]
    assert not on_path, f"the checkout is on sys.path: {sys.path}"
    found = {name: importlib.util.find_spec(name) for name in PROJECT_MODULES}
    assert not any(found.values()), f"the project can be imported: {found}"
    assert not any(name.split(".")[0] in PROJECT_MODULES for name in sys.modules), "a project module is loaded"


def _child(kind: str, sock: socket.socket, wake: tuple[int, int], request: dict, fds: list[int]) -> None:
    """In the forked child: become ``python main.py ARGS`` (or ``python -I SCRIPT ARGS``) and end
    with its exit code."""
    code = 1
    try:
        sock.close()
        signal.set_wakeup_fd(-1)
        for fd in wake:
            os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        stdin, stdout, stderr, *pause = fds
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
        for fd in {stdin, stdout, stderr} - {0, 1, 2}:
            os.close(fd)
        if request["ignore_sigint"]:  # as started by `nohup` or `cmd &` in a script
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        if request["file_size_limit"]:  # files may not grow past it (EFBIG, like ENOSPC; root too)
            import resource

            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            limit = request["file_size_limit"]
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        if request["env"] is not None:
            os.environ.clear()
            os.environ.update(request["env"])
        os.chdir(request["cwd"])
        try:
            if kind == "script":
                import runpy

                sys.argv = list(request["args"])
                runpy.run_path(sys.argv[0], run_name="__main__")
                code = 0
            else:
                sys.argv = [str(ROOT / "main.py"), *request["args"]]
                if request["moment"]:
                    import tests.cli_pause

                    tests.cli_pause.install(request["moment"], *pause)
                import main

                code = main.main(request["args"])
        except SystemExit as exit_:  # sys.exit(), argparse's usage errors: as the interpreter would end
            if exit_.code is not None and not isinstance(exit_.code, int):
                print(exit_.code, file=sys.stderr)
            code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            import atexit as exit_handlers

            exit_handlers._run_exitfuncs()  # as the interpreter does at its end (Qt's own clean-up, ...)
        except BaseException:  # noqa: BLE001 - the interpreter only reports these too
            pass
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed or broken pipe: nothing more to say
                pass
        os._exit(code)


if __name__ == "__main__":
    _serve(sys.argv[1], socket.socket(fileno=int(sys.argv[2])))
