#!/usr/bin/env bash
# The `strom up` suite runs in the Python client suite's venv (.venv:
# kafka-python and pytest, exact pins); this installs that. Its HTTP calls use
# the standard library only.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../../clients/python/install.sh"
