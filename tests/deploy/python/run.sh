#!/usr/bin/env bash
# Runs the deploy suite: deploy/docker-compose.yml validated by docker-compose
# and checked for the shape docs/deploy.md promises, the examples checked, and
# every Strom service of the compose file started from its binary with the
# environment the compose file gives it (host names mapped to 127.0.0.1, ports
# to free loopback ports) through the image's entrypoint and health check.
# Writes REPORT_DIR/deploy-python.xml (JUnit).
# Usage: tests/deploy/python/run.sh REPORT_DIR [pytest args...]
# Env: STROM_BIN, STROM_BROKER_BIN, STROM_SCHEMA_REGISTRY_BIN,
#      STROM_REST_PROXY_BIN, STROM_CONNECT_BIN (default <repo>/target/debug/<name>).
set -euo pipefail
report_dir="$(mkdir -p "$1" && cd "$1" && pwd)"; shift
cd "$(dirname "${BASH_SOURCE[0]}")"
rm -f "$report_dir/deploy-python.xml"
exec ../../../.venv/bin/python -m pytest -q -p no:cacheprovider \
    --junitxml="$report_dir/deploy-python.xml" "$@"
