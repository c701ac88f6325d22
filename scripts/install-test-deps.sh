#!/usr/bin/env bash
# Installs what the cross-language client suites need. Idempotent and quiet:
# safe to run again and again; the second run does (almost) nothing.
#
#   .venv/                  Python venv with tests/python/requirements.txt (exact pins)
#   ~/.m2/repository        Maven dependencies and plugins of tests/java/pom.xml
#
# Env:
#   PYTHON            interpreter for the venv (default: python3)
#   STROM_SKIP_PYTHON=1 / STROM_SKIP_JAVA=1   skip that half (ignored when CI=true)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

skip() { # skip NAME: true when STROM_SKIP_<NAME>=1 and we are not in CI
    local var="STROM_SKIP_$1"
    [[ "${!var:-0}" == "1" && "${CI:-}" != "true" ]]
}

die() { echo "install-test-deps: $*" >&2; exit 1; }

# --- Python -----------------------------------------------------------------
install_python() {
    local req=tests/python/requirements.txt venv=.venv
    local stamp="$venv/.requirements.sha256"
    local want
    want="$(sha256sum "$req" | cut -d' ' -f1)"

    if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
        && "$venv/bin/python" -c 'import kafka, lz4, pytest' 2>/dev/null; then
        echo "python: .venv up to date"
        return
    fi

    local py="${PYTHON:-python3}"
    command -v "$py" >/dev/null || die "no $py on PATH (need Python >= 3.9)"
    if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c '' 2>/dev/null; then
        rm -rf "$venv"
        "$py" -m venv "$venv" || die "'$py -m venv' failed (on Debian: apt-get install python3-venv)"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-input -r "$req" || die "pip install -r $req failed"
    echo "$want" > "$stamp"
    echo "python: installed $(tr '\n' ' ' < <(grep -v '^\s*#' "$req" | grep .))into .venv"
}

# --- Java -------------------------------------------------------------------
install_java() {
    command -v mvn >/dev/null || die "no mvn on PATH (need Maven >= 3.8 and JDK >= 17)"
    command -v java >/dev/null || die "no java on PATH (need JDK >= 17)"
    # Resolves dependencies and plugins (a no-op once ~/.m2 has them) and
    # compiles the tests, so that a broken Java test fails here, before any run.
    # Surefire's JUnit Platform provider is resolved on the first `mvn test`.
    # (sed drops the colour resets Maven 3.8 prints even in batch mode.)
    mvn -q -B -f tests/java/pom.xml test-compile 2>&1 | sed 's/\x1b\[[0-9;]*m//g' \
        || die "mvn test-compile of tests/java failed"
    echo "java: tests/java dependencies resolved and test sources compiled"
}

if skip PYTHON; then echo "python: skipped (STROM_SKIP_PYTHON=1)"; else install_python; fi
if skip JAVA; then echo "java: skipped (STROM_SKIP_JAVA=1)"; else install_java; fi
