"""Fixtures for Strom's Python client suite.

`broker` starts `strom-broker` with a `server.properties` of its own (one per
test module): `listeners=PLAINTEXT://127.0.0.1:0`, `log.dirs=<tmp>`,
`group.initial.rebalance.delay.ms=0`; it waits for the `listening on HOST:PORT`
line and yields a `Broker` whose `bootstrap` is `127.0.0.1:PORT`.
`broker_factory(**{"auto.create.topics.enable": "false"})` starts one more
broker with extra properties (stopped at the end of the module).

`strom_bootstrap` starts `strom up --data-dir <tmp> --broker-port 0` (one per
test module), waits for its `listening on localhost:PORT` line and yields
`localhost:PORT`; it is what a newcomer runs.

On teardown every process gets SIGTERM and must exit 0 within 30 s. A failing
test's report gets the stdout/stderr tail of the processes it used.

Env: STROM_BROKER_BIN (default: <repo>/target/debug/strom-broker),
     STROM_BIN (default: <repo>/target/debug/strom).
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
STROM_UP_LISTENING = re.compile(r"listening on localhost:(\d+)")
BROKER_LISTENING = re.compile(r"listening on (\d+\.\d+\.\d+\.\d+):(\d+)")

BASE_BROKER_PROPERTIES = {
    "listeners": "PLAINTEXT://127.0.0.1:0",
    "group.initial.rebalance.delay.ms": "0",
}


def _executable(env: str, default: Path, build: str) -> Path:
    path = Path(os.environ.get(env, default))
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"binary not found or not executable: {path} (build it with `{build}`, or set {env})",
            pytrace=False,
        )
    return path


def strom_bin() -> Path:
    return _executable("STROM_BIN", REPO_ROOT / "target" / "debug" / "strom", "cargo build -p strom")


def broker_bin() -> Path:
    return _executable(
        "STROM_BROKER_BIN", REPO_ROOT / "target" / "debug" / "strom-broker", "cargo build -p strom-broker"
    )


def _head_and_tail(path: Path, head: int = 40, tail: int = 60) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    if len(lines) > head + tail + 20:
        lines = lines[:head] + [f"[... {len(lines) - head - tail} lines omitted ...]"] + lines[-tail:]
    return "\n".join(lines) or "<empty>"


class ServerProcess:
    """A child server process, with its stdout drained by a background thread.

    `wait_ready` returns the match of `ready` on the first stdout line it fits."""

    def __init__(self, name: str, cmd: list[str], cwd: Path, log_dir: Path, ready: re.Pattern):
        self.name = name
        self.ready = ready
        self.stderr_path = log_dir / f"{name}.stderr"
        self.stdout_lines: list[str] = []
        self.port: int | None = None
        self._lines: "queue.Queue[str | None]" = queue.Queue()
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=cwd,
            env={**os.environ, "NO_COLOR": "1"},  # plain logs in failure reports
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
            f"{self.name}: exit code: {self.proc.poll()}\n"
            f"--- stdout ---\n" + ("\n".join(self.stdout_lines[-40:]) or "<empty>") + "\n"
            f"--- stderr ({self.stderr_path}) ---\n{_head_and_tail(self.stderr_path)}"
        )

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise RuntimeError(
                    f"{self.name} printed no line matching {self.ready.pattern!r} within {timeout:.0f}s\n"
                    + self.diagnostics()
                )
            try:
                line = self._lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=5)
                raise RuntimeError(f"{self.name} exited before it was ready\n" + self.diagnostics())
            m = self.ready.search(line)
            if m:
                return m

    def stop(self) -> int:
        """SIGTERM, wait with a deadline, return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.name} did not exit within {STOP_TIMEOUT_S:.0f}s of SIGTERM\n" + self.diagnostics()
            )
        finally:
            self._reader.join(timeout=5)
            self._stderr.close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _start_ready(server: ServerProcess) -> re.Match:
    """Waits for the ready line; on failure kills the process and fails the test."""
    try:
        return server.wait_ready()
    except RuntimeError as e:
        error = str(e)
    server.kill()
    server.stop()
    pytest.fail(error, pytrace=False)


# --- strom-broker ----------------------------------------------------------------


class Broker:
    """A running `strom-broker`: `bootstrap` is `HOST:PORT` for clients."""

    def __init__(self, process: ServerProcess, host: str, port: int, properties: dict[str, str]):
        self.process, self.host, self.port, self.properties = process, host, port, properties
        self.bootstrap = f"{host}:{port}"

    def diagnostics(self) -> str:
        return self.process.diagnostics()


def _start_broker(base: Path, extra: dict[str, str]) -> Broker:
    data_dir = base / "data"
    data_dir.mkdir()
    properties = {**BASE_BROKER_PROPERTIES, "log.dirs": str(data_dir), **extra}
    props_file = base / "server.properties"
    props_file.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
    server = ServerProcess("strom-broker", [str(broker_bin()), str(props_file)], base, base, BROKER_LISTENING)
    m = _start_ready(server)
    return Broker(server, m.group(1), int(m.group(2)), properties)


@pytest.fixture(scope="module")
def broker_factory(tmp_path_factory):
    """`broker_factory(**properties)` starts a `strom-broker` with these properties
    on top of the base ones; every broker started is stopped (and must exit 0)
    at the end of the module."""
    started: list[Broker] = []

    def start(**properties: str) -> Broker:
        b = _start_broker(tmp_path_factory.mktemp("broker"), {k: str(v) for k, v in properties.items()})
        started.append(b)
        return b

    start.started = started
    try:
        yield start
    finally:
        failures = []
        for b in started:
            code = b.process.stop()
            if code != 0:
                failures.append(f"strom-broker exited {code} after SIGTERM, expected 0\n" + b.diagnostics())
        assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def broker(broker_factory) -> Broker:
    """A `strom-broker` with the base properties, one per test module."""
    return broker_factory()


# --- strom up ------------------------------------------------------------------


@pytest.fixture(scope="module")
def strom_process(tmp_path_factory):
    """A `strom up` process, one per test module."""
    base = tmp_path_factory.mktemp("strom")
    data_dir = base / "data"
    data_dir.mkdir()
    cmd = [str(strom_bin()), "up", "--data-dir", str(data_dir), "--broker-port", "0", "--schema-registry-port", "0"]
    strom = ServerProcess("strom", cmd, data_dir, base, STROM_UP_LISTENING)
    strom.port = int(_start_ready(strom).group(1))
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
    """On a failed test, attach the servers' stdout/stderr tails to the report."""
    outcome = yield
    rep = outcome.get_result()
    if not (rep.failed and rep.when == "call"):
        return
    args = getattr(item, "funcargs", {})
    strom = args.get("strom_process")
    if strom is not None:
        rep.sections.append(("strom up", strom.diagnostics()))
    factory = args.get("broker_factory")
    for i, b in enumerate(getattr(factory, "started", [])):
        rep.sections.append((f"strom-broker #{i} ({b.bootstrap})", b.diagnostics()))
