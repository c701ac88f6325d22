#!/usr/bin/env bash
# Resolves the Java suite's Maven dependencies and plugins into ~/.m2 (a no-op
# once they are there) and compiles the tests, so a broken test fails here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v mvn >/dev/null || { echo "java: no mvn on PATH (need Maven >= 3.8, JDK >= 17)" >&2; exit 1; }
command -v java >/dev/null || { echo "java: no java on PATH (need JDK >= 17)" >&2; exit 1; }
# (sed drops the colour resets Maven 3.8 prints even in batch mode.)
mvn -q -B -f pom.xml test-compile 2>&1 | sed 's/\x1b\[[0-9;]*m//g'
test "${PIPESTATUS[0]}" -eq 0
echo "java: dependencies resolved, test sources compiled"
