#!/usr/bin/env bash
# Runs the Python client suite; writes REPORT_DIR/python.xml (JUnit).
# Usage: tests/clients/python/run.sh REPORT_DIR [pytest args...]
set -euo pipefail
report_dir="$(mkdir -p "$1" && cd "$1" && pwd)"; shift
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
rm -f "$report_dir/python.xml"
exec .venv/bin/pytest tests/clients/python -q --junitxml="$report_dir/python.xml" "$@"
