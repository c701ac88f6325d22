"""deploy/: the compose file validates (docker-compose 1.29's schema check)
and has the shape docs/deploy.md promises; the examples are well-formed; and
every Strom service of the compose file, started from its binary through the
image's entrypoint with exactly the environment the compose file gives it
(host names mapped to 127.0.0.1, ports to free loopback ports, volumes to
temporary directories), passes the image's health check and finds the others.

Env: STROM_BIN, STROM_BROKER_BIN, STROM_SCHEMA_REGISTRY_BIN,
STROM_REST_PROXY_BIN, STROM_CONNECT_BIN (default <repo>/target/debug/<name>).
"""

import base64
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
DEPLOY = REPO_ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
sys.path.insert(0, str(REPO_ROOT / "tests" / "support"))
from strom_servers import binary, tail  # noqa: E402

STROM_SERVICES = ["broker", "schema-registry", "rest-proxy", "connect"]
STANDARD_PORTS = {"broker": 9092, "schema-registry": 8081, "rest-proxy": 8082, "connect": 8083, "postgres": 5432}
BINARIES = {
    "strom": "STROM_BIN",
    "strom-broker": "STROM_BROKER_BIN",
    "strom-schema-registry": "STROM_SCHEMA_REGISTRY_BIN",
    "strom-rest-proxy": "STROM_REST_PROXY_BIN",
    "strom-connect": "STROM_CONNECT_BIN",
}
DEADLINE_S = 60.0


def compose_config(path: Path) -> "subprocess.CompletedProcess":
    return subprocess.run(
        ["docker-compose", "-f", str(path), "config"], capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def compose() -> dict:
    """The compose file as docker-compose resolves it (anchors merged, paths
    absolute), parsed by the PyYAML docker-compose itself runs on."""
    if shutil.which("docker-compose") is None:
        pytest.fail("docker-compose not found: run tests/deploy/python/install.sh", pytrace=False)
    out = compose_config(COMPOSE_FILE)
    assert out.returncode == 0, out.stderr
    as_json = subprocess.run(
        ["/usr/bin/python3", "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
        input=out.stdout,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert as_json.returncode == 0, as_json.stderr
    return json.loads(as_json.stdout)


# --- the files -------------------------------------------------------------------


def test_compose_file_validates(tmp_path):
    out = compose_config(COMPOSE_FILE)
    assert out.returncode == 0, out.stderr
    # The validator really checks: a wrong depends_on condition is refused.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("condition: service_healthy", "condition: service_happy", 1))
    shutil.copytree(DEPLOY / "examples", tmp_path / "examples")
    out = compose_config(broken)
    assert out.returncode != 0 and "service_happy" in out.stderr, out.stderr


def test_compose_file_shape(compose):
    services = compose["services"]
    assert set(services) == set(STROM_SERVICES) | {"postgres"}
    for name in STROM_SERVICES:
        s = services[name]
        assert s["image"] == "strom:local", name
        assert s["build"]["dockerfile"] == "deploy/Dockerfile", name
        assert Path(s["build"]["context"]) == REPO_ROOT, name
        assert s["command"] == name, name
        assert s["healthcheck"]["test"][:3] == ["CMD", "strom-healthcheck", name], name
        # Published on the standard port.
        assert {"published": STANDARD_PORTS[name], "target": STANDARD_PORTS[name]} in [
            {"published": int(p["published"]), "target": int(p["target"])} for p in s["ports"]
        ], name
        if name != "broker":
            for dep, cond in s["depends_on"].items():
                assert cond == {"condition": "service_healthy"}, (name, dep)
            assert "broker" in s["depends_on"], name
    assert set(services["rest-proxy"]["depends_on"]) == {"broker", "schema-registry"}
    assert "healthcheck" in services["postgres"]
    # Named volumes for the data.
    assert {"broker-data", "connect-files", "postgres-data"} <= set(compose["volumes"])
    assert "broker-data:/var/lib/kafka/data:rw" in services["broker"]["volumes"]
    # The compose file sets exactly what Confluent's images are given.
    env = services["broker"]["environment"]
    for key in ["KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS", "KAFKA_LOG_DIRS", "KAFKA_NODE_ID"]:
        assert key in env, key
    assert "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS" in services["schema-registry"]["environment"]
    assert "KAFKA_REST_BOOTSTRAP_SERVERS" in services["rest-proxy"]["environment"]
    assert "CONNECT_BOOTSTRAP_SERVERS" in services["connect"]["environment"]


def test_dockerfile_is_multi_stage_small_non_root_with_tini_and_healthcheck():
    text = (DEPLOY / "Dockerfile").read_text()
    froms = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M)
    assert len(froms) == 2, froms
    assert froms[0][0].startswith("rust:") and froms[0][1] == "builder"
    assert froms[1][0].startswith("debian:") and froms[1][0].endswith("-slim")
    assert re.search(r"cargo build --release --locked", text)
    for name in BINARIES:
        assert f"target/release/{name}" in text, name
    assert re.search(r"^USER strom$", text, re.M)
    assert re.search(r'^ENTRYPOINT \["/usr/bin/tini", "--", "strom-entrypoint"\]$', text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n\s+CMD \[\"strom-healthcheck\"\]$", text, re.M)
    for script in ["docker-entrypoint.sh", "healthcheck.sh"]:
        assert f"COPY deploy/{script}" in text
        assert os.access(DEPLOY / script, os.X_OK), script
    # The context is the repository root: its build outputs stay out.
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert "**/target" in ignored and ".git" in ignored
    # Every file the build copies from the repository exists.
    for src in re.findall(r"^COPY (deploy/\S+)", text, re.M):
        assert (REPO_ROOT / src).exists(), src


def test_shell_scripts_parse():
    for script, shell in [("docker-entrypoint.sh", "sh"), ("healthcheck.sh", "bash")]:
        out = subprocess.run([shell, "-n", str(DEPLOY / script)], capture_output=True, text=True)
        assert out.returncode == 0, (script, out.stderr)


def test_entrypoint_picks_the_service(tmp_path):
    """By its command, or without one by the environment, as a compose file
    written for Confluent's images (no command) needs; stub binaries print
    what they were run with."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ["strom-broker", "strom-schema-registry", "strom-rest-proxy", "strom-connect"]:
        stub = bin_dir / name
        stub.write_text(f'#!/bin/sh\necho "{name} $* log.dirs=${{KAFKA_LOG_DIRS:-}}"\n')
        stub.chmod(0o755)

    def run(args, env):
        out = subprocess.run(
            ["sh", str(DEPLOY / "docker-entrypoint.sh"), *args],
            env={**env, "PATH": f"{bin_dir}:/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert run(["broker"], {}) == "strom-broker  log.dirs=/var/lib/kafka/data"
    assert run(["broker", "--override", "a=b"], {"KAFKA_LOG_DIRS": "/d"}) == "strom-broker --override a=b log.dirs=/d"
    assert run(["schema-registry"], {}) == "strom-schema-registry  log.dirs="
    assert run(["rest-proxy", "/etc/kafka-rest.properties"], {}) == "strom-rest-proxy /etc/kafka-rest.properties log.dirs="
    assert run(["connect"], {}) == "strom-connect distributed /dev/null log.dirs="
    assert run(["connect", "/w.properties"], {}) == "strom-connect distributed /w.properties log.dirs="
    assert run(["echo", "hi"], {}) == "hi"
    # No command: the environment decides.
    assert run([], {"KAFKA_NODE_ID": "1"}) == "strom-broker  log.dirs=/var/lib/kafka/data"
    assert run([], {"SCHEMA_REGISTRY_HOST_NAME": "sr"}).startswith("strom-schema-registry")
    assert run([], {"KAFKA_REST_BOOTSTRAP_SERVERS": "b:1"}).startswith("strom-rest-proxy")
    assert run([], {"CONNECT_BOOTSTRAP_SERVERS": "b:1"}) == "strom-connect distributed /dev/null log.dirs="


def test_examples_are_well_formed():
    examples = DEPLOY / "examples"
    for name in ["file-source.json", "file-sink.json", "jdbc-source.json", "jdbc-sink.json"]:
        body = json.loads((examples / name).read_text())
        assert set(body) == {"name", "config"}, name
        assert body["config"]["connector.class"].endswith("Connector"), name
        assert all(isinstance(v, str) for v in body["config"].values()), name
    for name in ["jdbc-source.json", "jdbc-sink.json"]:
        assert "jdbc:postgresql://postgres:5432/shop" == json.loads((examples / name).read_text())["config"]["connection.url"]
    # The registration body is the .avsc, as a string.
    schema = json.loads((examples / "order.avsc").read_text())
    registration = json.loads((examples / "order-value-schema.json").read_text())
    assert registration["schemaType"] == "AVRO"
    assert json.loads(registration["schema"]) == schema
    assert "CREATE TABLE orders" in (examples / "postgres-init.sql").read_text()


# --- the services, started with the compose environment ----------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mapper:
    """Rewrites compose values for this machine: a compose host name (or
    0.0.0.0 / localhost) becomes 127.0.0.1, each port a free loopback port
    (the same number everywhere), each volume path a temporary directory."""

    def __init__(self, compose: dict, base: Path):
        self.hosts = set(compose["services"])
        for s in compose["services"].values():
            if s.get("hostname"):
                self.hosts.add(s["hostname"])
        self.ports: dict = {}
        self.paths: dict = {}
        for name, s in compose["services"].items():
            for volume in s.get("volumes", []):
                target = volume.split(":")[1]
                source = base / "volumes" / name / target.strip("/").replace("/", "_")
                source.mkdir(parents=True, exist_ok=True)
                self.paths[target] = source
        host = "|".join(re.escape(h) for h in sorted(self.hosts | {"0.0.0.0", "localhost"}, key=len, reverse=True))
        self.address = re.compile(rf"(?<![\w.-])({host})?:(\d+)\b")
        self.bare_host = re.compile(rf"^({host})$")

    def port(self, port: int) -> int:
        if port not in self.ports:
            self.ports[port] = free_port()
        return self.ports[port]

    def value(self, value, bare_hosts: bool = True) -> str:
        text = str(value)
        for target, source in self.paths.items():
            if text == target or text.startswith(target + "/"):
                return str(source) + text[len(target):]
        if bare_hosts and self.bare_host.match(text):
            return "127.0.0.1"
        return self.address.sub(lambda m: f"127.0.0.1:{self.port(int(m.group(2)))}", text)


class Service:
    """One compose service run as `strom-entrypoint COMMAND` with its environment."""

    def __init__(self, name: str, compose_service: dict, mapper: Mapper, bin_dir: Path, log_dir: Path):
        self.name = name
        self.env = {k: mapper.value(v) for k, v in compose_service.get("environment", {}).items()}
        # (Its arguments name services, not hosts: only addresses are mapped.)
        self.healthcheck = [mapper.value(a, bare_hosts=False) for a in compose_service["healthcheck"]["test"][1:]]
        self.path = f"{bin_dir}:/usr/bin:/bin"
        command = compose_service["command"]
        command = command.split() if isinstance(command, str) else command
        self.stderr_path = log_dir / f"{name}.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.stdout_lines: list = []
        self._lines: "queue.Queue" = queue.Queue()
        # Exactly the compose environment, plus PATH to find the binaries.
        self.proc = subprocess.Popen(
            ["strom-entrypoint", *command],
            env={**self.env, "PATH": self.path},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=log_dir,
        )
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self.stdout_lines.append(line)
        self.proc.stdout.close()

    def diagnostics(self) -> str:
        return (
            f"{self.name} exit code: {self.proc.poll()}\nenv: {self.env}\n"
            + f"last health check: {getattr(self, 'last_healthcheck', None)}\n--- stdout ---\n"
            + "\n".join(self.stdout_lines[-20:])
            + f"\n--- stderr ---\n{tail(self.stderr_path)}"
        )

    def healthy(self) -> bool:
        out = subprocess.run(self.healthcheck, env={"PATH": self.path}, capture_output=True, timeout=30)
        self.last_healthcheck = f"{self.healthcheck} exited {out.returncode}: {out.stdout!r} {out.stderr!r}"
        return out.returncode == 0

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while not self.healthy():
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited before it was healthy\n" + self.diagnostics(), pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name} not healthy within {DEADLINE_S:.0f}s\n" + self.diagnostics(), pytrace=False)
            time.sleep(0.2)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            self._stderr.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def start_order(services: dict) -> list:
    """The Strom services in depends_on order (what `docker compose up` does)."""
    order: list = []
    while len(order) < len(STROM_SERVICES):
        for name in STROM_SERVICES:
            deps = set(services[name].get("depends_on", {})) & set(STROM_SERVICES)
            if name not in order and deps <= set(order):
                order.append(name)
    return order


@pytest.fixture(scope="module")
def stack(compose, tmp_path_factory):
    base = tmp_path_factory.mktemp("stack")
    bin_dir = base / "bin"
    bin_dir.mkdir()
    for name, env in BINARIES.items():
        (bin_dir / name).symlink_to(binary(env, name).resolve())
    (bin_dir / "strom-entrypoint").symlink_to(DEPLOY / "docker-entrypoint.sh")
    (bin_dir / "strom-healthcheck").symlink_to(DEPLOY / "healthcheck.sh")
    mapper = Mapper(compose, base)
    running: dict = {}
    try:
        for name in start_order(compose["services"]):
            for dep in compose["services"][name].get("depends_on", {}):
                if dep in running:
                    assert running[dep].healthy(), f"{name} depends on {dep}, which is not healthy"
            running[name] = Service(name, compose["services"][name], mapper, bin_dir, base)
            running[name].wait_healthy()
        yield {"services": running, "mapper": mapper, "compose": compose, "base": base}
    except BaseException:
        for s in running.values():
            s.kill()
        raise
    codes = {}
    for name in reversed(list(running)):
        codes[name] = running[name].stop()
    assert codes == {name: 0 for name in codes}, "\n".join(s.diagnostics() for s in running.values())


def http(method: str, url: str, body=None, content_type: str = "application/json"):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def url(stack, service: str) -> str:
    return f"http://127.0.0.1:{stack['mapper'].ports[STANDARD_PORTS[service]]}"


def test_services_start_healthy_from_the_compose_environment(stack):
    services = stack["services"]
    assert list(services) == ["broker", "schema-registry", "rest-proxy", "connect"]
    for s in services.values():
        assert s.proc.poll() is None, s.diagnostics()
        assert s.healthy(), s.name
        # Nothing of the test's own environment leaked in.
        assert not any(k.startswith("STROM_") for k in s.env), s.env
    # The environment names Confluent's variables, mapped for this machine.
    env = services["broker"].env
    internal = stack["mapper"].ports[29092]
    assert env["KAFKA_ADVERTISED_LISTENERS"].startswith(f"PLAINTEXT://127.0.0.1:{internal},")
    assert env["KAFKA_LOG_DIRS"].startswith(str(stack["base"]))


def test_broker_advertises_each_listener_and_keeps_data_in_the_volume(stack):
    from kafka import KafkaAdminClient, KafkaProducer

    mapper = stack["mapper"]
    for container_port in (29092, 9092):
        address = f"127.0.0.1:{mapper.ports[container_port]}"
        admin = KafkaAdminClient(bootstrap_servers=address)
        try:
            brokers = admin.describe_cluster()["brokers"]
        finally:
            admin.close()
        # Each listener advertises itself (the mapped advertised.listeners).
        assert [(b["host"], b["port"]) for b in brokers] == [("127.0.0.1", mapper.ports[container_port])]
    producer = KafkaProducer(bootstrap_servers=f"127.0.0.1:{mapper.ports[9092]}", acks="all")
    producer.send("from-the-host", b"hello").get(timeout=30)
    producer.close()
    data = Path(stack["services"]["broker"].env["KAFKA_LOG_DIRS"])
    assert (data / "from-the-host-0").is_dir(), sorted(p.name for p in data.iterdir())


def test_schema_registry_rest_proxy_and_connect_find_each_other(stack):
    registry, proxy, connect = url(stack, "schema-registry"), url(stack, "rest-proxy"), url(stack, "connect")
    examples = DEPLOY / "examples"

    # The registry keeps its schemas in the broker it was pointed at.
    registration = json.loads((examples / "order-value-schema.json").read_text())
    status, body = http("POST", f"{registry}/subjects/orders-value/versions", registration, "application/vnd.schemaregistry.v1+json")
    assert status == 200, body
    schema_id = body["id"]

    # The REST proxy reaches the registry (KAFKA_REST_SCHEMA_REGISTRY_URL) and the broker.
    status, body = http(
        "POST",
        f"{proxy}/topics/orders",
        {"value_schema_id": schema_id, "records": [{"value": {"id": 1, "customer": "ada", "amount": 12.5, "status": "NEW", "note": None}}]},
        "application/vnd.kafka.avro.v2+json",
    )
    assert status == 200 and body["offsets"][0]["offset"] == 0, body
    status, topics = http("GET", f"{proxy}/topics")
    assert status == 200 and "orders" in topics and "_schemas" in topics, topics

    # Connect: the FileStream example, its file in the compose volume,
    # copies lines into the broker; the REST proxy reads them back.
    files = stack["mapper"].value("/var/lib/strom/files")
    connector = json.loads((examples / "file-source.json").read_text())
    connector["config"]["file"] = stack["mapper"].value(connector["config"]["file"])
    assert connector["config"]["file"].startswith(files)
    Path(connector["config"]["file"]).write_text("one\ntwo\n")
    status, body = http("POST", f"{connect}/connectors", connector)
    assert status == 201, body
    deadline = time.monotonic() + DEADLINE_S
    while True:
        status, body = http("GET", f"{proxy}/v3/clusters")
        cluster = body["data"][0]["cluster_id"]
        status, body = http("GET", f"{proxy}/v3/clusters/{cluster}/topics/file-lines/partitions/0")
        if status == 200:
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.2)
    status, body = http("POST", f"{proxy}/consumers/deploy-test", {"name": "c", "format": "binary", "auto.offset.reset": "earliest"}, "application/vnd.kafka.v2+json")
    assert status == 200, body
    base = body["base_uri"]
    assert base.startswith("http://127.0.0.1:"), base
    status, _ = http("POST", f"{base}/subscription", {"topics": ["file-lines"]}, "application/vnd.kafka.v2+json")
    assert status == 204
    values: list = []
    deadline = time.monotonic() + DEADLINE_S
    while len(values) < 2:
        assert time.monotonic() < deadline, values
        request = urllib.request.Request(f"{base}/records", headers={"Accept": "application/vnd.kafka.binary.v2+json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            values += [base64.b64decode(r["value"]).decode() for r in json.loads(response.read())]
    http("DELETE", base, None)
    assert values == ["one", "two"]

    # The worker advertises itself with its mapped host name.
    status, body = http("GET", f"{connect}/connectors/file-source/status")
    assert status == 200 and body["connector"]["state"] == "RUNNING", body
    assert body["connector"]["worker_id"] == f"127.0.0.1:{stack['mapper'].ports[8083]}", body
