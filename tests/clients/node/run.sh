#!/usr/bin/env bash
# Runs the Node.js (kafkajs) client suite with node's test runner; writes
# REPORT_DIR/node.xml (JUnit) and prints progress (spec reporter).
# Usage: tests/clients/node/run.sh REPORT_DIR [node --test args, e.g. --test-name-pattern=groups]
# Env: STROM_BROKER_BIN (default <repo>/target/debug/strom-broker).
set -euo pipefail
report_dir="$(mkdir -p "$1" && cd "$1" && pwd)"; shift
cd "$(dirname "${BASH_SOURCE[0]}")"
rm -f "$report_dir/node.xml"
# Each test file starts its own broker; run two files at a time. Every test sets
# its own timeout (60-90 s); --test-timeout also bounds each file as a whole.
exec node --test --test-concurrency=2 --test-timeout=300000 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=junit --test-reporter-destination="$report_dir/node.xml" \
    "$@" test/*.test.js
