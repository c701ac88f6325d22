#!/usr/bin/env bash
# Installs the schema registry's Python suite's packages into <repo>/.venv-sr
# (exact pins of requirements.txt: confluent-kafka with its schemaregistry,
# avro, json and protobuf extras). A venv of its own: those extras pin other
# versions than the client suite's .venv. Idempotent: does nothing while
# requirements.txt is unchanged.
# Env: PYTHON, the interpreter for the venv (default: python3; needs >= 3.9).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
req=tests/schema-registry/python/requirements.txt venv=.venv-sr
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
    && "$venv/bin/python" -c 'import pytest, confluent_kafka' 2>/dev/null; then
    echo "schema-registry/python: .venv-sr up to date"
    exit 0
fi
py="${PYTHON:-python3}"
command -v "$py" >/dev/null || { echo "schema-registry/python: no $py on PATH" >&2; exit 1; }
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c '' 2>/dev/null; then
    rm -rf "$venv"
    "$py" -m venv "$venv" || { echo "schema-registry/python: '$py -m venv' failed" >&2; exit 1; }
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req"
echo "$want" > "$stamp"
echo "schema-registry/python: installed requirements.txt into .venv-sr"
