"""Fixtures for Strom's Python client suite.

`strom_bootstrap` starts `strom up --data-dir <tmp> --broker-port 0` (one per
test module), waits for its `listening on localhost:PORT` line and yields
`localhost:PORT`. On teardown it sends SIGTERM and asserts a clean exit 0.

Env: STROM_BIN (default: <repo>/target/debug/strom).
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

REPO_ROOT = Path(__file__).resolve().parents[3]
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
LISTENING = re.compile(r"listening on localhost:(\d+)")


def strom_bin() -> Path:
    path = Path(os.environ.get("STROM_BIN", REPO_ROOT / "target" / "debug" / "strom"))
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"strom binary not found or not executable: {path} "
            "(build it with `cargo build --workspace`, or set STROM_BIN)",
            pytrace=False,
        )
    return path


def _head_and_tail(path: Path, head: int = 40, tail: int = 60) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    if len(lines) > head + tail + 20:
        lines = lines[:head] + [f"[... {len(lines) - head - tail} lines omitted ...]"] + lines[-tail:]
    return "\n".join(lines) or "<empty>"


class StromProcess:
    """A running `strom up`, with its stdout drained by a background thread."""

    def __init__(self, data_dir: Path, log_dir: Path):
        self.stderr_path = log_dir / "strom.stderr"
        self.stdout_lines: list[str] = []
        self.port: int | None = None
        self._lines: "queue.Queue[str | None]" = queue.Queue()
        cmd = [str(strom_bin()), "up", "--data-dir", str(data_dir), "--broker-port", "0"]
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=data_dir,
        )
        self._reader = threading.Thread(target=self._drain_stdout, daemon=True)
        self._reader.start()

    def _drain_stdout(self) -> None:
        # Keeps reading after the ready line so the child never blocks on a full pipe.
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self.stdout_lines.append(line)
            self._lines.put(line)
        self._lines.put(None)  # EOF

    def diagnostics(self) -> str:
        return (
            f"exit code: {self.proc.poll()}\n"
            f"--- stdout ---\n" + ("\n".join(self.stdout_lines[-40:]) or "<empty>") + "\n"
            f"--- stderr ({self.stderr_path}) ---\n{_head_and_tail(self.stderr_path)}"
        )

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> int:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise RuntimeError(
                    f"strom up printed no 'listening on localhost:PORT' within {timeout:.0f}s\n"
                    + self.diagnostics()
                )
            try:
                line = self._lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=5)
                raise RuntimeError(
                    "strom up exited before it was ready\n" + self.diagnostics()
                )
            m = LISTENING.search(line)
            if m:
                return int(m.group(1))

    def stop(self) -> int:
        """SIGTERM, wait with a deadline, return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"strom up did not exit within {STOP_TIMEOUT_S:.0f}s of SIGTERM\n" + self.diagnostics()
            )
        finally:
            self._reader.join(timeout=5)
            self._stderr.close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def strom_process(tmp_path_factory):
    """A `strom up` process, one per test module."""
    base = tmp_path_factory.mktemp("strom")
    data_dir = base / "data"
    data_dir.mkdir()
    strom = StromProcess(data_dir, base)
    error = None
    try:
        strom.port = strom.wait_ready()
    except RuntimeError as e:
        error = str(e)
    if error is not None:
        strom.kill()
        strom.stop()
        pytest.fail(error, pytrace=False)
    try:
        yield strom
    finally:
        code = strom.stop()
        assert code == 0, f"strom up exited {code} after SIGTERM, expected 0\n" + strom.diagnostics()


@pytest.fixture(scope="module")
def strom_bootstrap(strom_process) -> str:
    """`localhost:PORT` of a running `strom up`."""
    return f"localhost:{strom_process.port}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed test, attach the broker's stdout/stderr tail to the report."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and rep.when == "call":
        strom = getattr(item, "funcargs", {}).get("strom_process")
        if strom is not None:
            rep.sections.append(("strom up", strom.diagnostics()))
