#!/usr/bin/env bash
# Runs the Java client suite (mvn test); copies Surefire's reports to
# REPORT_DIR/java/TEST-*.xml (JUnit).
# Usage: tests/clients/java/run.sh REPORT_DIR [mvn args, e.g. -Dtest=AdminTest]
set -uo pipefail
report_dir="$(mkdir -p "$1" && cd "$1" && pwd)"; shift
cd "$(dirname "${BASH_SOURCE[0]}")"
rm -rf target/surefire-reports "$report_dir/java"
# Not -q: Surefire's "Tests run: N, Failures: ..." lines are INFO-level.
mvn -B -ntp -f pom.xml test "$@" 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g'
code=${PIPESTATUS[0]}
mkdir -p "$report_dir/java"
cp target/surefire-reports/TEST-*.xml "$report_dir/java/" 2>/dev/null || true
exit "$code"
