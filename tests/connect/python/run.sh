#!/usr/bin/env bash
# Runs Connect's Python suite (the JDBC connectors with Confluent's Avro
# converter, checked with confluent-kafka's AvroSerializer/AvroDeserializer,
# against a `strom up` process); writes REPORT_DIR/connect-python.xml (JUnit).
# Usage: tests/connect/python/run.sh REPORT_DIR [pytest args...]
# Env: STROM_BIN (default <repo>/target/debug/strom).
set -euo pipefail
report_dir="$(mkdir -p "$1" && cd "$1" && pwd)"; shift
cd "$(dirname "${BASH_SOURCE[0]}")"
rm -f "$report_dir/connect-python.xml"
exec ../../../.venv-sr/bin/python -m pytest -q -p no:cacheprovider \
    --junitxml="$report_dir/connect-python.xml" "$@"
