"""Fixtures for the REST proxy's Python suite: a strom-broker, a
strom-schema-registry and a strom-rest-proxy, each a real process on
127.0.0.1 port 0, one of each per test module, stopped with SIGTERM (exit 0).

Env: STROM_BROKER_BIN, STROM_SCHEMA_REGISTRY_BIN, STROM_REST_PROXY_BIN
     (default <repo>/target/debug/<name>).
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from strom_servers import binary, start  # noqa: E402


def _serve(tmp_path_factory, name: str, env: str, properties: str):
    base = tmp_path_factory.mktemp(name)
    props = base / "service.properties"
    props.write_text(properties)
    server, addr = start(name, [str(binary(env, name)), str(props)], base)
    server.addr = addr
    return server


def _stop(server) -> None:
    code = server.stop()
    assert code == 0, f"{server.name} exited {code} after SIGTERM\n" + server.diagnostics()


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory):
    data = tmp_path_factory.mktemp("broker-data")
    server = _serve(
        tmp_path_factory,
        "strom-broker",
        "STROM_BROKER_BIN",
        f"listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs={data}\ngroup.initial.rebalance.delay.ms=0\n",
    )
    yield server.addr
    _stop(server)


@pytest.fixture(scope="module")
def registry_url(tmp_path_factory, bootstrap):
    server = _serve(
        tmp_path_factory,
        "strom-schema-registry",
        "STROM_SCHEMA_REGISTRY_BIN",
        "listeners=http://127.0.0.1:0\n"
        f"kafkastore.bootstrap.servers=PLAINTEXT://{bootstrap}\n"
        "kafkastore.topic.replication.factor=1\n"
        "kafkastore.timeout.ms=20000\n",
    )
    yield f"http://{server.addr}"
    _stop(server)


@pytest.fixture(scope="module")
def proxy_url(tmp_path_factory, bootstrap, registry_url):
    server = _serve(
        tmp_path_factory,
        "strom-rest-proxy",
        "STROM_REST_PROXY_BIN",
        "listeners=http://127.0.0.1:0\n"
        f"bootstrap.servers=PLAINTEXT://{bootstrap}\n"
        f"schema.registry.url={registry_url}\n",
    )
    yield f"http://{server.addr}"
    _stop(server)
