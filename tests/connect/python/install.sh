#!/usr/bin/env bash
# Connect's Python suite runs in the schema registry suite's venv (.venv-sr:
# confluent-kafka with its Avro and schema registry extras); this installs that.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../../schema-registry/python/install.sh"
