"""Fixtures for Connect's Python suite: one `strom up` process (broker,
schema registry, REST proxy, Connect) for the module, and helpers to post
connectors and wait for them.

Env: STROM_BIN (default <repo>/target/debug/strom).
"""

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO_ROOT / "tests" / "support"))

from strom_up import StromUp, http, wait_until  # noqa: E402,F401


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    base = tmp_path_factory.mktemp("connect")
    server = StromUp(base / "logs", ["--data-dir", str(base / "strom-data")])
    yield server
    server.stop()


def create_connector(up: StromUp, name: str, config: dict) -> None:
    """POST a connector (again after a rebalance's 409) and wait until its tasks run."""
    body = {"name": name, "config": {"name": name, **config}}

    def post():
        status, answer = http("POST", f"{up.connect}/connectors", body)
        assert status in (201, 409), answer
        return status == 201

    wait_until(post, f"connector {name} created")

    def running():
        status, s = http("GET", f"{up.connect}/connectors/{name}/status")
        tasks = (s or {}).get("tasks") or []
        failed = [t for t in tasks if t.get("state") == "FAILED"]
        assert not failed, s
        return status == 200 and tasks and all(t["state"] == "RUNNING" for t in tasks)

    wait_until(running, f"connector {name} running")
