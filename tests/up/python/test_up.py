"""`strom up` end to end: one process with the broker, schema registry, REST
proxy and Connect worker; kafka-python, plain HTTP and a FileStream connector
against it; SIGTERM; a second `strom up` on the same data directory finds
every topic and record, every schema with its id, and the connector at its
position (it does not copy the file again).
"""

import json
import struct
import time

import pytest
from kafka import KafkaProducer

from conftest import REPO_ROOT, StromUp, end_offsets, http, read_all, wait_until

EXAMPLES = REPO_ROOT / "deploy" / "examples"
SR = "application/vnd.schemaregistry.v1+json"
AVRO_V2 = "application/vnd.kafka.avro.v2+json"
LINES = [f"line {i}" for i in range(1, 6)]


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    """What the first run left, for the second to find."""
    base = tmp_path_factory.mktemp("up")
    return {"base": base, "data": base / "strom-data", "input": base / "input.txt"}


def produce_avro(up: StromUp, schema_id: int, orders: list) -> list:
    status, body = http(
        "POST",
        f"{up.proxy}/topics/orders",
        {"value_schema_id": schema_id, "records": [{"value": o} for o in orders]},
        AVRO_V2,
    )
    assert status == 200, body
    assert body["value_schema_id"] == schema_id, body
    assert all(o.get("error") is None for o in body["offsets"]), body
    return body["offsets"]


def confluent_schema_id(value: bytes) -> int:
    """The schema id of a Confluent-framed value (magic byte 0, 4-byte id)."""
    assert value[0] == 0, value
    return struct.unpack(">i", value[1:5])[0]


def connector_offset(up: StromUp, name: str):
    status, body = http("GET", f"{up.connect}/connectors/{name}/offsets")
    assert status == 200, body
    offsets = body["offsets"]
    return offsets[0]["offset"] if offsets else None


def test_first_run_serves_everything(state):
    up = StromUp(state["base"] / "run1", ["--data-dir", str(state["data"])])
    try:
        print(f"strom up (first run): banner after {up.ready_after_s:.3f} s")
        assert set(up.services) == {"broker (Kafka API)", "schema registry", "REST proxy", "Connect"}, up.banner
        assert any(str(state["data"]) in line for line in up.banner), up.banner

        # kafka-python, acks=all.
        producer = KafkaProducer(bootstrap_servers=up.bootstrap, acks="all")
        for i in range(20):
            producer.send("events", key=f"k{i % 4}".encode(), value=f"event {i}".encode())
        producer.flush()
        producer.close()
        assert len(read_all(up.bootstrap, "events")) == 20

        # A schema over plain HTTP, and Avro through the REST proxy with its id.
        registration = json.loads((EXAMPLES / "order-value-schema.json").read_text())
        status, body = http("POST", f"{up.registry}/subjects/orders-value/versions", registration, SR)
        assert status == 200, body
        schema_id = body["id"]
        state["schema_id"] = schema_id
        offsets = produce_avro(
            up,
            schema_id,
            [
                {"id": 1, "customer": "ada", "amount": 12.5, "status": "NEW", "note": None},
                {"id": 2, "customer": "grace", "amount": 99.0, "status": "PAID", "note": {"string": "gift"}},
            ],
        )
        assert [o["offset"] for o in offsets] == [0, 1]
        orders = read_all(up.bootstrap, "orders")
        assert [confluent_schema_id(r.value) for r in orders] == [schema_id, schema_id]

        # A FileStream source posted over REST copies the file into a topic.
        state["input"].write_text("".join(f"{line}\n" for line in LINES))
        connector = json.loads((EXAMPLES / "file-source.json").read_text())
        connector["config"]["file"] = str(state["input"])
        status, body = http("POST", f"{up.connect}/connectors", connector)
        assert status == 201, body
        wait_until(
            lambda: sum(end_offsets(up.bootstrap, "file-lines").values()) >= len(LINES),
            "the connector to copy the file",
        )
        assert [r.value.decode() for r in read_all(up.bootstrap, "file-lines")] == LINES
        status, body = http("GET", f"{up.connect}/connectors/file-source/status")
        assert status == 200 and body["connector"]["state"] == "RUNNING", body
    except BaseException:
        up.kill()
        raise
    # SIGTERM: a clean stop, which commits the connector's position.
    up.stop()
    state["first_run_ok"] = True


def test_restart_resumes_everything(state):
    if not state.get("first_run_ok"):
        pytest.skip("the first run failed")
    up = StromUp(state["base"] / "run2", ["--data-dir", str(state["data"])])
    try:
        print(f"strom up (restart): banner after {up.ready_after_s:.3f} s")
        schema_id = state["schema_id"]

        # Topics and records.
        events = read_all(up.bootstrap, "events")
        assert sorted(r.value.decode() for r in events) == sorted(f"event {i}" for i in range(20))
        orders = read_all(up.bootstrap, "orders")
        assert [confluent_schema_id(r.value) for r in orders] == [schema_id, schema_id]

        # Schemas and their ids.
        status, body = http("GET", f"{up.registry}/subjects")
        assert (status, body) == (200, ["orders-value"])
        status, body = http("GET", f"{up.registry}/subjects/orders-value/versions/1")
        assert status == 200 and body["id"] == schema_id, body
        registration = json.loads((EXAMPLES / "order-value-schema.json").read_text())
        status, body = http("GET", f"{up.registry}/schemas/ids/{schema_id}")
        assert status == 200 and json.loads(body["schema"]) == json.loads(registration["schema"]), body
        # Registering it again is the same schema, not a new one.
        status, body = http("POST", f"{up.registry}/subjects/orders-value/versions", registration, SR)
        assert (status, body) == (200, {"id": schema_id})
        produce_avro(up, schema_id, [{"id": 3, "customer": "linus", "amount": 7.25, "status": "SHIPPED", "note": None}])
        assert len(read_all(up.bootstrap, "orders")) == 3

        # The connector, running again from where it stopped: its committed
        # position is the end of the file...
        status, body = http("GET", f"{up.connect}/connectors")
        assert (status, body) == (200, ["file-source"])
        wait_until(
            lambda: http("GET", f"{up.connect}/connectors/file-source/status")[1]["connector"]["state"] == "RUNNING",
            "the connector to run again",
        )
        offset = connector_offset(up, "file-source")
        assert offset is not None and offset.get("position") == state["input"].stat().st_size, offset
        # ...so a line appended now is the only new record: nothing is copied twice.
        with state["input"].open("a") as f:
            f.write("after the restart\n")
        wait_until(
            lambda: sum(end_offsets(up.bootstrap, "file-lines").values()) >= len(LINES) + 1,
            "the appended line",
        )
        assert [r.value.decode() for r in read_all(up.bootstrap, "file-lines")] == LINES + ["after the restart"]
    except BaseException:
        up.kill()
        raise
    up.stop()


def test_only_some_services_with_the_rest_elsewhere(tmp_path):
    """`--only broker,schema-registry` in one process, `--only
    rest-proxy,connect` in another pointed at the first."""
    core = StromUp(tmp_path / "core", ["--data-dir", str(tmp_path / "data"), "--only", "broker,schema-registry"])
    edge = None
    try:
        assert set(core.services) == {"broker (Kafka API)", "schema registry"}, core.banner
        edge = StromUp(
            tmp_path / "edge",
            [
                "--only",
                "rest-proxy,connect",
                "--bootstrap-server",
                core.bootstrap,
                "--schema-registry-url",
                core.registry,
            ],
            name="strom-up-edge",
        )
        assert set(edge.services) == {"REST proxy", "Connect"}, edge.banner
        assert edge.elsewhere == {"broker (Kafka API)": core.bootstrap, "schema registry": core.registry}
        assert not any("data directory" in line for line in edge.banner), edge.banner

        # The proxy registers the schema in the other process's registry and
        # writes to its broker.
        schema = json.loads((EXAMPLES / "order-value-schema.json").read_text())["schema"]
        status, body = http(
            "POST",
            f"{edge.proxy}/topics/orders",
            {"value_schema": schema, "records": [{"value": {"id": 7, "customer": "x", "amount": 1.0, "status": "NEW", "note": None}}]},
            AVRO_V2,
        )
        assert status == 200, body
        status, subjects = http("GET", f"{core.registry}/subjects")
        assert (status, subjects) == (200, ["orders-value"])
        assert [confluent_schema_id(r.value) for r in read_all(core.bootstrap, "orders")] == [body["value_schema_id"]]
        status, body = http("GET", f"{edge.connect}/connectors")
        assert (status, body) == (200, [])
    except BaseException:
        if edge:
            edge.kill()
        core.kill()
        raise
    edge.stop()
    core.stop()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--only", "sql"], "not built yet"),
        (["--sql-port", "18088"], "--sql-port (STROM_SQL_PORT): the SQL service is not built yet"),
        (["--bootstrap-server", "localhost:1"], "--bootstrap-server names a broker run elsewhere"),
        (["--only", "broker,schema-registry", "--schema-registry-url", "http://localhost:1"], "--schema-registry-url names a registry"),
    ],
)
def test_refuses_what_cannot_be_done(tmp_path, args, message):
    import subprocess

    from strom_servers import binary

    out = subprocess.run(
        [str(binary("STROM_BIN", "strom")), "up", "--data-dir", str(tmp_path / "d"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0, out
    assert message in out.stderr, out.stderr
    assert not (tmp_path / "d").exists(), "nothing was started"
