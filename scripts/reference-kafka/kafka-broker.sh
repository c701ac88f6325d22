#!/usr/bin/env bash
# Apache Kafka (single-node KRaft, jars from Maven Central) behind the command-line
# contracts of Strom's binaries, so the client suites can run against the
# reference implementation and a test's expectation can be checked there:
#
#   kafka-broker.sh path/server.properties [--override key=value]...
#       like `strom-broker`: reads node.id, listeners (port 0 allowed), log.dirs,
#       prints `listening on HOST:PORT` when Kafka accepts connections.
#   kafka-broker.sh up --data-dir DIR --broker-port PORT
#       like `strom up`: prints `listening on localhost:PORT`.
#
# SIGTERM stops Kafka and exits 0. Not used by CI; see run-suites.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Cached under the repo's (gitignored) target/.
CP_FILE="$HERE/../../target/reference-kafka/classpath.txt"

die() { echo "kafka-broker.sh: $*" >&2; exit 2; }

if [[ ! -s "$CP_FILE" ]]; then
    mkdir -p "$(dirname "$CP_FILE")"
    mvn -q -B -f "$HERE/pom.xml" dependency:build-classpath -Dmdep.outputFile="$CP_FILE" >&2 \
        || die "resolving Apache Kafka's jars failed"
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

declare -A props=()
node_id=1 host=127.0.0.1 port=0 advertised_host="" data_dir=""

if [[ "${1:-}" == "up" ]]; then
    shift
    while (($#)); do
        case "$1" in
            --data-dir) data_dir="$2"; shift 2 ;;
            --broker-port) port="$2"; shift 2 ;;
            *) die "unknown argument to up: $1" ;;
        esac
    done
    [[ -n "$data_dir" ]] || die "up needs --data-dir"
    advertised_host=localhost
    data_dir="$data_dir/kafka"
else
    [[ $# -ge 1 && -f "$1" ]] || die "usage: kafka-broker.sh server.properties [--override k=v]..."
    while IFS= read -r line || [[ -n "$line" ]]; do
        [[ "$line" =~ ^[[:space:]]*(#|!|$) ]] && continue
        props["${line%%=*}"]="${line#*=}"
    done < "$1"
    shift
    while (($#)); do
        [[ "$1" == "--override" && $# -ge 2 ]] || die "unknown argument: $1"
        props["${2%%=*}"]="${2#*=}"
        shift 2
    done
    node_id="${props[node.id]:-1}"
    listener="${props[listeners]:-PLAINTEXT://127.0.0.1:0}"
    [[ "$listener" =~ ^PLAINTEXT://([^,]*):([0-9]+)$ ]] || die "unsupported listeners: $listener"
    host="${BASH_REMATCH[1]}"
    port="${BASH_REMATCH[2]}"
    [[ "$host" == "localhost" || -z "$host" ]] && host=127.0.0.1
    advertised_host="$host"
    data_dir="${props[log.dirs]:-${props[log.dir]:-}}"
    [[ -n "$data_dir" ]] || die "no log.dirs"
    for k in node.id listeners advertised.listeners log.dirs log.dir; do unset "props[$k]"; done
fi

[[ "$port" == 0 ]] && port="$(free_port)"
controller_port="$(free_port)"
mkdir -p "$data_dir"
config="$data_dir/../kraft-server.properties"
{
    echo "process.roles=broker,controller"
    echo "node.id=$node_id"
    echo "controller.quorum.bootstrap.servers=127.0.0.1:$controller_port"
    echo "listeners=PLAINTEXT://$host:$port,CONTROLLER://127.0.0.1:$controller_port"
    echo "advertised.listeners=PLAINTEXT://$advertised_host:$port"
    echo "controller.listener.names=CONTROLLER"
    echo "inter.broker.listener.name=PLAINTEXT"
    echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    echo "log.dirs=$data_dir"
    echo "offsets.topic.replication.factor=1"
    echo "transaction.state.log.replication.factor=1"
    echo "transaction.state.log.min.isr=1"
    echo "share.coordinator.state.topic.replication.factor=1"
    echo "share.coordinator.state.topic.min.isr=1"
    echo "group.initial.rebalance.delay.ms=0"
    for k in "${!props[@]}"; do echo "$k=${props[$k]}"; done
} > "$config"

# KAFKA_HEAP_OPTS as for kafka-server-start.sh (bench/ sets its default, -Xmx1G -Xms1G).
read -r -a heap_opts <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
JAVA_OPTS=("${heap_opts[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -Djava.awt.headless=true
    -Dorg.slf4j.simpleLogger.defaultLogLevel="${KAFKA_LOG_LEVEL:-warn}")
CP="$(cat "$CP_FILE")"

if [[ ! -f "$data_dir/meta.properties" ]]; then
    java "${JAVA_OPTS[@]}" -cp "$CP" kafka.tools.StorageTool format --standalone \
        -t "$(python3 -c 'import base64,uuid;print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')" \
        -c "$config" >&2 || die "kafka-storage format failed"
fi

java "${JAVA_OPTS[@]}" -cp "$CP" kafka.Kafka "$config" >&2 &
kafka_pid=$!
stop() {
    kill -TERM "$kafka_pid" 2>/dev/null || true
    wait "$kafka_pid" 2>/dev/null || true
    exit 0
}
trap stop TERM INT

deadline=$((SECONDS + 60))
until python3 -c "import socket,sys; socket.create_connection(('$host', $port), timeout=1).close()" 2>/dev/null; do
    kill -0 "$kafka_pid" 2>/dev/null || die "Kafka exited before it listened"
    ((SECONDS < deadline)) || { kill "$kafka_pid"; die "Kafka did not listen on $host:$port within 60s"; }
    sleep 0.2 & wait $!   # interruptible by SIGTERM
done
echo "kafka-broker.sh: Apache Kafka listening on $advertised_host:$port"
wait "$kafka_pid"
