#!/usr/bin/env bash
# Strom against Apache Kafka on this machine, side by side. From the repo root:
#
#     bench/run.sh                 # 3 rounds of every workload (about 20 minutes on a fast machine)
#     bench/run.sh --rounds 5 --only produce-acks1,consume
#
# Builds the release binaries (strom-broker, strom, strom-bench), resolves Apache
# Kafka 4.4.0 and its tools from Maven Central into ~/.m2 (classpath cached in
# target/reference-kafka/), then runs bench/run.py, which prints the table and
# writes bench/results/<time>.md and .json. Arguments go to bench/run.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release -p strom-broker -p strom -p strom-bench
cp_file=target/reference-kafka/classpath.txt
if [[ ! -s "$cp_file" || scripts/reference-kafka/pom.xml -nt "$cp_file" ]]; then
    mkdir -p target/reference-kafka
    mvn -q -B -f scripts/reference-kafka/pom.xml dependency:build-classpath \
        -Dmdep.outputFile="$PWD/$cp_file"
fi
export STROM_BROKER_BIN="$PWD/target/release/strom-broker"
export STROM_BIN="$PWD/target/release/strom"
# The heap kafka-server-start.sh gives a broker by default.
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}"
export STROM_BENCH_BIN="$PWD/target/release/strom-bench"
exec python3 bench/run.py "$@"
