#!/usr/bin/env bash
# Runs the schema registry's Python suite (Confluent's Python serializers
# against strom-schema-registry + strom-broker); writes
# REPORT_DIR/schema-registry-python.xml (JUnit).
# Usage: tests/schema-registry/python/run.sh REPORT_DIR [pytest args...]
# Env: STROM_BROKER_BIN, STROM_SCHEMA_REGISTRY_BIN (default: target/debug/...).
set -euo pipefail
report_dir="$(mkdir -p "$1" && cd "$1" && pwd)"; shift
cd "$(dirname "${BASH_SOURCE[0]}")"
rm -f "$report_dir/schema-registry-python.xml"
exec ../../../.venv-sr/bin/python -m pytest -q -p no:cacheprovider \
    --junitxml="$report_dir/schema-registry-python.xml" "$@"
