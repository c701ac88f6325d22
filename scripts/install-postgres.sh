#!/usr/bin/env bash
# Makes sure PostgreSQL's server binaries (initdb, postgres) are on this
# machine, for the JDBC connector tests in connect/tests/jdbc.rs: installs
# Debian's `postgresql` package when they are missing (root or sudo).
# Idempotent; prints the bin directory the tests use (STROM_PG_BINDIR).
# The tests start their own server (initdb into a temp dir, loopback, a free
# port) and never touch a system cluster.
set -euo pipefail

find_bindir() {
    if [[ -n "${STROM_PG_BINDIR:-}" && -x "$STROM_PG_BINDIR/initdb" ]]; then
        echo "$STROM_PG_BINDIR"; return 0
    fi
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [[ -x "$d/initdb" && -x "$d/postgres" ]] && { echo "$d"; return 0; }
    done
    return 1
}

if ! bindir=$(find_bindir); then
    sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    bindir=$(find_bindir) || { echo "install-postgres: postgresql did not install" >&2; exit 1; }
    echo "install-postgres: installed Debian's postgresql ($bindir)" >&2
fi
# As root, the tests run the server as the `postgres` user the package creates.
if [[ "$(id -u)" == 0 ]] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
fi
echo "$bindir"
