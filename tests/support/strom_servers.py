"""Strom server processes for the Python suites under tests/<service>/python.

`Server` runs one binary (stdout drained by a thread), `wait_ready` returns the
`HOST:PORT` of its first `listening on` line, `stop` sends SIGTERM and waits.
`binary(ENV, name)` finds a binary (ENV, else <repo>/target/debug/<name>);
`start(name, cmd, log_dir)` starts one and waits until it listens (a pytest
failure otherwise).
"""

import os
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
LISTENING = re.compile(r"listening on (\d+\.\d+\.\d+\.\d+):(\d+)")


def binary(env: str, name: str) -> Path:
    path = Path(os.environ.get(env, REPO_ROOT / "target" / "debug" / name))
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"{name} not found or not executable: {path} "
            f"(build it with `cargo build -p {name}`, or set {env})",
            pytrace=False,
        )
    return path


def tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return "\n".join(text[-lines:]) or "<empty>"


class Server:
    """A child process whose stdout is drained by a thread; ready once it prints `listening on`."""

    def __init__(self, name: str, cmd: list, log_dir: Path):
        self.name = name
        self.stderr_path = log_dir / f"{name}.stderr"
        self.stdout_lines: list = []
        self._lines: "queue.Queue" = queue.Queue()
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr, cwd=log_dir
        )
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self.stdout_lines.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def diagnostics(self) -> str:
        return (
            f"{self.name} exit code: {self.proc.poll()}\n--- stdout ---\n"
            + ("\n".join(self.stdout_lines[-20:]) or "<empty>")
            + f"\n--- stderr ({self.stderr_path}) ---\n{tail(self.stderr_path)}"
        )

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> str:
        """Returns `HOST:PORT` from the first `listening on` line."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise RuntimeError(f"{self.name} printed no 'listening on' within {timeout:.0f}s\n" + self.diagnostics())
            try:
                line = self._lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=5)
                raise RuntimeError(f"{self.name} exited before it was ready\n" + self.diagnostics())
            m = LISTENING.search(line)
            if m:
                return f"{m.group(1)}:{m.group(2)}"

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} did not exit within {STOP_TIMEOUT_S:.0f}s of SIGTERM\n" + self.diagnostics())
        finally:
            self._reader.join(timeout=5)
            self._stderr.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def start(name: str, cmd: list, log_dir: Path) -> "tuple[Server, str]":
    server = Server(name, cmd, log_dir)
    try:
        return server, server.wait_ready()
    except RuntimeError as e:
        server.kill()
        pytest.fail(str(e), pytrace=False)
