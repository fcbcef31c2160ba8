"""``python main.py ...`` processes for the tests of the process itself, without importing torch in each.

Real processes (their own pid, signal handlers, exit code, file-size limit, terminal), forked
from one "zygote" process that has imported torch, the engine and main.py once: each child then
runs exactly what ``python main.py ARGS`` runs, ``main.main(ARGS)``, and ends with its exit code.
What a fresh interpreter itself does (imports, Qt never loaded, the wheel) is tested with real
``python`` processes elsewhere (test_engine_is_qt_free.py, test_import_contract.py, test_wheel.py).

The zygote forks when asked over a socket pair (SOCK_SEQPACKET: one message a request, the
child's stdin, stdout, stderr and pause pipes passed along with it), and reports each child's
pid, and later its exit status, which only it can wait for. torch has computed nothing in the
zygote, so a forked child starts it as a fresh process would.
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
class Zygote:
    def __init__(self):
        import subprocess

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen([sys.executable, str(Path(__file__)), str(theirs.fileno())], cwd=ROOT,
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
        """End the zygote (its children, each the test's own, end by themselves)."""
        import subprocess

        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # the end of file the zygote waits for; wakes our reader
        except OSError:
            pass
        self.sock.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_zygote: Zygote | None = None


def zygote() -> Zygote:
    global _zygote
    if _zygote is None or _zygote.gone:
        _zygote = Zygote()
        atexit.register(_zygote.close)
    return _zygote


class Forked:
    """What the tests use of a ``subprocess.Popen`` (text mode), for a child of the zygote."""

    def __init__(self, args, *, moment: str | None = None, stderr: int | None = None,
                 ignore_sigint: bool = False, file_size_limit: int | None = None):
        self.args = [str(a) for a in args]
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
        request = {"args": self.args, "cwd": str(ROOT), "moment": moment, "ignore_sigint": ignore_sigint,
                   "file_size_limit": file_size_limit}
        try:
            self.pid = zygote().fork(request, fds)
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
            self.returncode = zygote().wait(self.pid, 0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = zygote().wait(self.pid, timeout)
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
def _serve(sock: socket.socket) -> None:
    sys.path.insert(0, str(ROOT))
    import warnings

    import torch

    import engine.cli  # noqa: F401
    import engine.session  # noqa: F401
    import main  # noqa: F401
    import tests.cli_pause  # noqa: F401

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import torch._dynamo  # noqa: F401 - what the first optimizer imports (about 1.6 s); nothing computed

    assert torch.get_num_threads() >= 1
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
                _child(sock, (wake_r, wake_w), json.loads(data), fds)
            for fd in fds:
                os.close(fd)
            sock.send(json.dumps({"pid": pid}).encode())


def _child(sock: socket.socket, wake: tuple[int, int], request: dict, fds: list[int]) -> None:
    """In the forked child: become ``python main.py ARGS`` and end with its exit code."""
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
        os.chdir(request["cwd"])
        sys.argv = [str(ROOT / "main.py"), *request["args"]]
        if request["moment"]:
            import tests.cli_pause

            tests.cli_pause.install(request["moment"], *pause)
        import main

        try:
            code = main.main(request["args"])
        except SystemExit as exit_:  # argparse's usage errors, as the interpreter would end
            code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed or broken pipe: nothing more to say
                pass
        os._exit(code)


if __name__ == "__main__":
    _serve(socket.socket(fileno=int(sys.argv[1])))
