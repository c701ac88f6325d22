"""`strom up` as a test fixture, for the suites that need every service:
a `strom up` process (`StromUp`) with its banner parsed into addresses,
plain HTTP with the standard library (`http`), and `wait_until`.

Env: STROM_BIN (default <repo>/target/debug/strom).
"""

import json
import queue
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from strom_servers import Server, binary

DEADLINE_S = 30.0
BANNER_TIMEOUT_S = 60.0


def wait_until(condition, what: str, timeout: float = DEADLINE_S):
    """Polls `condition` until it returns something truthy; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


class StromUp:
    """`strom up ARGS...` with every port 0 (unless ARGS say otherwise), its
    banner read into `services` ({name: address}) and `elsewhere`."""

    def __init__(self, log_dir: Path, args: list, name: str = "strom-up"):
        log_dir.mkdir(parents=True, exist_ok=True)
        ports = []
        for flag in ("--broker-port", "--schema-registry-port", "--rest-proxy-port", "--connect-port"):
            if flag not in args:
                ports += [flag, "0"]
        cmd = [str(binary("STROM_BIN", "strom")), "up", *args, *ports]
        self.started = time.monotonic()
        self.server = Server(name, cmd, log_dir)
        self.services: dict = {}
        self.elsewhere: dict = {}
        self.banner: list = []
        self.ready_after_s = None
        self._read_banner()

    def _read_banner(self) -> None:
        deadline = self.started + BANNER_TIMEOUT_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.server.kill()
                pytest.fail("strom up printed no banner in time\n" + self.server.diagnostics(), pytrace=False)
            try:
                line = self.server._lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line is None:
                self.server.proc.wait(timeout=5)
                pytest.fail("strom up exited before it was up\n" + self.server.diagnostics(), pytrace=False)
            self.banner.append(line)
            if " listening on " in line:
                name, address = line.split(" listening on ")
                self.services[name.strip()] = address.strip()
            elif " using " in line:
                name, address = line.split(" using ")
                self.elsewhere[name.strip()] = address.strip()
            if line.startswith("Strom is up."):
                self.ready_after_s = time.monotonic() - self.started
                return

    @property
    def bootstrap(self) -> str:
        return self.services["broker (Kafka API)"]

    @property
    def registry(self) -> str:
        return self.services["schema registry"]

    @property
    def proxy(self) -> str:
        return self.services["REST proxy"]

    @property
    def connect(self) -> str:
        return self.services["Connect"]

    def stop(self) -> None:
        """SIGTERM; a clean exit (0) that says so."""
        code = self.server.stop()
        assert code == 0, f"strom up exited {code} after SIGTERM\n" + self.server.diagnostics()
        assert "Strom stopped." in self.server.stdout_lines, self.server.diagnostics()

    def kill(self) -> None:
        self.server.kill()


def http(method: str, url: str, body=None, content_type: str = "application/json"):
    """One request; returns (status, parsed JSON body or None)."""
    data = None
    headers = {"Accept": "application/json"}
    if body is not None:
        data = (body if isinstance(body, (bytes, str)) else json.dumps(body))
        data = data.encode() if isinstance(data, str) else data
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE_S) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as e:
        raw = e.read()
        status = e.code
    text = raw.decode(errors="replace")
    try:
        return status, (json.loads(text) if text.strip() else None)
    except ValueError:
        return status, text
