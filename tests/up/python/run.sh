#!/usr/bin/env bash
# Runs the `strom up` end-to-end suite (kafka-python and plain HTTP against a
# real `strom up` process, stopped with SIGTERM and started again on the same
# data directory); writes REPORT_DIR/up-python.xml (JUnit).
# Usage: tests/up/python/run.sh REPORT_DIR [pytest args...]
# Env: STROM_BIN (default <repo>/target/debug/strom).
set -euo pipefail
report_dir="$(mkdir -p "$1" && cd "$1" && pwd)"; shift
cd "$(dirname "${BASH_SOURCE[0]}")"
rm -f "$report_dir/up-python.xml"
exec ../../../.venv/bin/python -m pytest -q -p no:cacheprovider \
    --junitxml="$report_dir/up-python.xml" "$@"
