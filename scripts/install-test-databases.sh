#!/usr/bin/env bash
# Makes sure the database servers the JDBC connector tests (connect/tests/jdbc.rs)
# start are on this machine: PostgreSQL (initdb, postgres) and MariaDB
# (mariadb-install-db, mariadbd), installing Debian's `postgresql` and
# `mariadb-server` packages when they are missing (root or sudo), without
# starting their system services. Idempotent. Prints PostgreSQL's bin
# directory (the tests' STROM_PG_BINDIR). The tests start their own servers
# (a temp dir, loopback, a free port) and never touch a system cluster.
set -euo pipefail

find_pg_bindir() {
    if [[ -n "${STROM_PG_BINDIR:-}" && -x "$STROM_PG_BINDIR/initdb" ]]; then
        echo "$STROM_PG_BINDIR"; return 0
    fi
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [[ -x "$d/initdb" && -x "$d/postgres" ]] && { echo "$d"; return 0; }
    done
    return 1
}

missing=()
find_pg_bindir >/dev/null || missing+=(postgresql)
{ command -v mariadbd || [[ -x /usr/sbin/mariadbd ]]; } >/dev/null 2>&1 || missing+=(mariadb-server)
if ((${#missing[@]})); then
    sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    # Install without starting the packages' services (exit 101: "not allowed").
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod +x "$policy"
        created_policy=1
    fi
    trap '[[ $created_policy == 1 ]] && "${sudo[@]}" rm -f "$policy"' EXIT
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "install-test-databases: installed ${missing[*]} (Debian)" >&2
fi
bindir=$(find_pg_bindir) || { echo "install-test-databases: PostgreSQL did not install" >&2; exit 1; }
[[ -x /usr/sbin/mariadbd ]] || command -v mariadbd >/dev/null \
    || { echo "install-test-databases: MariaDB did not install" >&2; exit 1; }
# As root, the tests run PostgreSQL as the `postgres` user the package creates.
if [[ "$(id -u)" == 0 ]] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
fi
echo "$bindir"
