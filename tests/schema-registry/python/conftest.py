"""Fixtures for the schema registry's Python client suite.

`broker` starts `strom-broker` with a server.properties on 127.0.0.1 port 0 and
reads `listening on HOST:PORT` from its stdout; `registry` starts
`strom-schema-registry` with a schema-registry.properties against it, also on
port 0, and yields its URL. One of each per test module; both get SIGTERM on
teardown and must exit 0.

Env: STROM_BROKER_BIN (default <repo>/target/debug/strom-broker),
     STROM_SCHEMA_REGISTRY_BIN (default <repo>/target/debug/strom-schema-registry).
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
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
LISTENING = re.compile(r"listening on (\d+\.\d+\.\d+\.\d+):(\d+)")


def _binary(env: str, name: str) -> Path:
    path = Path(os.environ.get(env, REPO_ROOT / "target" / "debug" / name))
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"{name} not found or not executable: {path} "
            f"(build it with `cargo build -p strom-broker -p strom-schema-registry`, or set {env})",
            pytrace=False,
        )
    return path


def _tail(path: Path, lines: int = 60) -> str:
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
            + f"\n--- stderr ({self.stderr_path}) ---\n{_tail(self.stderr_path)}"
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


def _start(name: str, cmd: list, log_dir: Path) -> "tuple[Server, str]":
    server = Server(name, cmd, log_dir)
    try:
        return server, server.wait_ready()
    except RuntimeError as e:
        server.kill()
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """`HOST:PORT` of a strom-broker."""
    base = tmp_path_factory.mktemp("broker")
    (base / "data").mkdir()
    props = base / "server.properties"
    props.write_text(
        "listeners=PLAINTEXT://127.0.0.1:0\n"
        f"log.dirs={base / 'data'}\n"
        "node.id=1\n"
        "group.initial.rebalance.delay.ms=0\n"
    )
    server, addr = _start("strom-broker", [str(_binary("STROM_BROKER_BIN", "strom-broker")), str(props)], base)
    server.addr = addr
    try:
        yield server
    finally:
        code = server.stop()
        assert code == 0, f"strom-broker exited {code} after SIGTERM\n" + server.diagnostics()


@pytest.fixture(scope="module")
def bootstrap(broker) -> str:
    return broker.addr


@pytest.fixture(scope="module")
def registry_process(tmp_path_factory, bootstrap):
    base = tmp_path_factory.mktemp("registry")
    props = base / "schema-registry.properties"
    props.write_text(
        "listeners=http://127.0.0.1:0\n"
        f"kafkastore.bootstrap.servers=PLAINTEXT://{bootstrap}\n"
        "kafkastore.topic=_schemas\n"
        "kafkastore.topic.replication.factor=1\n"
        "kafkastore.timeout.ms=20000\n"
        "schema.compatibility.level=backward\n"
    )
    binary = _binary("STROM_SCHEMA_REGISTRY_BIN", "strom-schema-registry")
    server, addr = _start("strom-schema-registry", [str(binary), str(props)], base)
    server.url = f"http://{addr}"
    try:
        yield server
    finally:
        code = server.stop()
        assert code == 0, f"strom-schema-registry exited {code} after SIGTERM\n" + server.diagnostics()


@pytest.fixture(scope="module")
def registry_url(registry_process) -> str:
    return registry_process.url


@pytest.fixture
def sr_client(registry_url):
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient({"url": registry_url})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed test, attach the servers' output to the report."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and rep.when == "call":
        for name in ("broker", "registry_process"):
            server = getattr(item, "funcargs", {}).get(name)
            if server is not None:
                rep.sections.append((name, server.diagnostics()))
