#!/usr/bin/env bash
# Installs what the cross-language suites need: runs each suite's own install.sh
# (idempotent and quiet: safe to run again and again; a second run does almost
# nothing). Suites and what they install:
#
#   python                  .venv/ with tests/clients/python/requirements.txt (exact pins)
#   java                    ~/.m2/repository: the Maven dependencies of tests/clients/java/pom.xml
#   node                    tests/clients/node/node_modules: `npm ci` of its package-lock.json
#   go                      the Go module cache: `go mod download` of tests/clients/go/go.mod, then go vet
#   schema-registry/python  .venv-sr/ with tests/schema-registry/python/requirements.txt
#   rest-proxy/python       the same .venv-sr/
#   connect/python          the same .venv-sr/
#   up/python               the client suite's .venv/
#   deploy/python           Debian's docker-compose 1.29.2 (apt-get; root or sudo) and .venv/
#
# A name with a / is a path under tests/ (scripts/test.sh's SERVICE_SUITES), one
# without is a client suite under tests/clients/ (CLIENT_SUITES).
# Usage: scripts/install-test-deps.sh [SUITE...]   (default: every suite scripts/test.sh runs)
# Env: STROM_SKIP_<SUITE>=1 skips that suite (ignored when CI=true).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

suites=("$@")
if ((${#suites[@]} == 0)); then
    read -r -a suites < <(sed -n 's/^\(CLIENT\|SERVICE\)_SUITES="\(.*\)"$/\2/p' scripts/test.sh | paste -sd ' ')
fi
for suite in "${suites[@]}"; do
    var="STROM_SKIP_$(echo "${suite//\//-}" | tr '[:lower:]-' '[:upper:]_')"
    if [[ "${!var:-0}" == "1" && "${CI:-}" != "true" ]]; then
        echo "$suite: skipped ($var=1)"
        continue
    fi
    dir="tests/clients/$suite"
    [[ "$suite" == */* ]] && dir="tests/$suite"
    "$dir/install.sh" || { echo "install-test-deps: $suite failed" >&2; exit 1; }
done
