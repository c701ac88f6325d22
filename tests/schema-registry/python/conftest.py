"""Fixtures for the schema registry's Python client suite.

`broker` starts `strom-broker` with a server.properties on 127.0.0.1 port 0 and
reads `listening on HOST:PORT` from its stdout; `registry` starts
`strom-schema-registry` with a schema-registry.properties against it, also on
port 0, and yields its URL. One of each per test module; both get SIGTERM on
teardown and must exit 0.

Env: STROM_BROKER_BIN (default <repo>/target/debug/strom-broker),
     STROM_SCHEMA_REGISTRY_BIN (default <repo>/target/debug/strom-schema-registry).
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from strom_servers import binary as _binary, start as _start  # noqa: E402

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
