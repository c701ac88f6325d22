#!/usr/bin/env bash
# Installs the Python client suite's packages into <repo>/.venv (exact pins of
# requirements.txt). Idempotent: does nothing while requirements.txt is unchanged.
# Env: PYTHON, the interpreter for the venv (default: python3; needs >= 3.10: aiokafka 0.14 and pytest 9 require it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
req=tests/clients/python/requirements.txt venv=.venv
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
    && "$venv/bin/python" -c 'import pytest' 2>/dev/null; then
    echo "python: .venv up to date"
    exit 0
fi
py="${PYTHON:-python3}"
command -v "$py" >/dev/null || { echo "python: no $py on PATH" >&2; exit 1; }
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c '' 2>/dev/null; then
    rm -rf "$venv"
    "$py" -m venv "$venv" || { echo "python: '$py -m venv' failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req"
echo "$want" > "$stamp"
echo "python: installed $(grep -v '^\s*#' "$req" | grep . | tr '\n' ' ')into .venv"
