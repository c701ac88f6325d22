#!/usr/bin/env bash
# Runs the REST proxy's Python suite (Confluent's Python Avro serializers
# against strom-rest-proxy + strom-schema-registry + strom-broker); writes
# REPORT_DIR/rest-proxy-python.xml (JUnit).
# Usage: tests/rest-proxy/python/run.sh REPORT_DIR [pytest args...]
# Env: STROM_BROKER_BIN, STROM_SCHEMA_REGISTRY_BIN, STROM_REST_PROXY_BIN.
set -euo pipefail
report_dir="$(mkdir -p "$1" && cd "$1" && pwd)"; shift
cd "$(dirname "${BASH_SOURCE[0]}")"
rm -f "$report_dir/rest-proxy-python.xml"
exec ../../../.venv-sr/bin/python -m pytest -q -p no:cacheprovider \
    --junitxml="$report_dir/rest-proxy-python.xml" "$@"
