#!/usr/bin/env bash
# Runs the client suites (tests/clients/python, tests/clients/java) against Apache Kafka instead
# of Strom, to check the tests' own expectations against the reference
# implementation. A test that fails here is wrong (or tests something Kafka
# does differently on purpose); one that passes here and fails on Strom points
# at Strom. Not part of CI (it starts a JVM broker per test class/module).
#
#   scripts/reference-kafka/run-suites.sh [python|java]...   (default: both)
#   KAFKA_LOG_LEVEL=info  for Kafka's own logs on stderr
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
broker="$(pwd)/scripts/reference-kafka/kafka-broker.sh"
export STROM_BROKER_BIN="$broker" STROM_BIN="$broker"

suites=("$@")
((${#suites[@]})) || suites=(python java)
scripts/install-test-deps.sh
rc=0
for suite in "${suites[@]}"; do
    echo "==> $suite suite against Apache Kafka"
    case "$suite" in
        python) .venv/bin/pytest tests/clients/python -q || rc=1 ;;
        java) mvn -B -ntp -f tests/clients/java/pom.xml test 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g' || rc=1 ;;
        *) echo "unknown suite: $suite" >&2; exit 2 ;;
    esac
done
exit $rc
