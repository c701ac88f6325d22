#!/usr/bin/env bash
# Installs what the deploy suite needs: Debian's docker-compose package
# (1.29.2, the Python implementation: `docker-compose config` validates a
# compose file against the compose specification's JSON schema without a
# Docker daemon), and the Python client suite's .venv (pytest, kafka-python).
# Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
want=1.29.2
if ! docker-compose version --short 2>/dev/null | grep -qx "$want"; then
    sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "docker-compose=$want-*" >/dev/null
    docker-compose version --short | grep -qx "$want" \
        || { echo "deploy: docker-compose $want did not install" >&2; exit 1; }
    echo "deploy: installed docker-compose $want (Debian)"
else
    echo "deploy: docker-compose $want present"
fi
# PyYAML for the system python3 that runs docker-compose (a dependency of the
# package): the suite converts the resolved compose file to JSON with it.
/usr/bin/python3 -c 'import yaml' || { echo "deploy: /usr/bin/python3 has no yaml module" >&2; exit 1; }
exec tests/clients/python/install.sh
