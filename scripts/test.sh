#!/usr/bin/env bash
# Strom's one test command (CI runs it through .ci/run). From the repo root:
#
#     scripts/test.sh
#
# Stages, in order, failing fast:
#   1. lint         cargo fmt --check; cargo clippy -D warnings
#   2. rust         cargo build --workspace --all-targets (once); cargo test --workspace
#                   (PostgreSQL and MariaDB for the JDBC tests: scripts/install-test-databases.sh);
#                   bench/run.py --smoke (seconds, Strom only: the bench program works)
#   3. deps         scripts/install-test-deps.sh (each client suite's install.sh)
#   4. <suite>...   tests/clients/<suite>/run.sh for each of $CLIENT_SUITES: real
#                   Kafka clients against strom-broker / `strom up` processes
#   5. <service>... tests/<service>/run.sh for each of $SERVICE_SUITES: the
#                   services' own suites: Confluent's Python serializers against
#                   strom-schema-registry and strom-rest-proxy; the JDBC connectors with
#                   Confluent's Avro converter (connect/python); `strom up` end to end
#                   (up/python); the docker-compose stack's files and environment
#                   (deploy/python)
#   6. matrix       tests/clients/matrix.py writes the compatibility matrix from the
#                   reports; CI fails when docs/compatibility.md is stale, a local
#                   full run refreshes it
# The suites use the binaries stage 2 built (STROM_BIN, STROM_BROKER_BIN,
# STROM_SCHEMA_REGISTRY_BIN, STROM_REST_PROXY_BIN, STROM_CONNECT_BIN).
# Logs and reports: $CARGO_TARGET_DIR/test-logs/ (cargo-test.log, clients/).
#
# Env:
#   STROM_SKIP_LINT=1 STROM_SKIP_RUST=1 STROM_SKIP_<SUITE>=1 (e.g. STROM_SKIP_JAVA=1,
#                   STROM_SKIP_SCHEMA_REGISTRY_PYTHON=1, STROM_SKIP_REST_PROXY_PYTHON=1,
#                   STROM_SKIP_CONNECT_PYTHON=1,
#                   STROM_SKIP_UP_PYTHON=1, STROM_SKIP_DEPLOY_PYTHON=1)
#                   skip a stage locally (ignored when CI=true: CI runs everything;
#                   STROM_SKIP_RUST skips `cargo test`, never the build)
#   STROM_FUZZ_SECS how long the fuzz test runs (default 60)
#   CARGO_TARGET_DIR as for cargo (default: target)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

export STROM_FUZZ_SECS="${STROM_FUZZ_SECS:-60}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
LOG_DIR="$TARGET_DIR/test-logs"
mkdir -p "$LOG_DIR"

START=$(date +%s)
STAGE_START=$START
STAGE=""
STAGE_N=0
# The cross-language client suites, in the order they run (tests/clients/<suite>/).
CLIENT_SUITES="python java node go"
# The services' own suites, tests/<path>/ (report: <path with / as ->.xml).
SERVICE_SUITES="schema-registry/python rest-proxy/python connect/python up/python deploy/python"
STAGES=$((4 + $(wc -w <<<"$CLIENT_SUITES $SERVICE_SUITES")))
SUMMARY=()   # per-suite result lines

header() { # header NAME DESCRIPTION
    STAGE="$1"
    STAGE_N=$((STAGE_N + 1))
    STAGE_START=$(date +%s)
    echo
    echo "==> [$STAGE_N/$STAGES] $1: $2"
}

stage_done() {
    echo "--- $STAGE: ok ($(($(date +%s) - STAGE_START))s)"
}

fail() {
    echo
    echo "!!! FAILED in stage '$STAGE': $*" >&2
    # A failed stage counts as a failure even when no test runner counted one.
    ((FAILED > 0)) || FAILED=1
    print_summary
    echo "test.sh: FAILED at stage '$STAGE' after $(($(date +%s) - START))s" >&2
    overall_line
    exit 1
}

skipping() { # skipping STAGE_VAR: true if the stage is to be skipped (never in CI)
    local var="STROM_SKIP_$1"
    if [[ "${!var:-0}" == "1" ]]; then
        if [[ "${CI:-}" == "true" ]]; then
            echo "(CI=true: ignoring $var=1)"
            return 1
        fi
        echo "skipped ($var=1)"
        SUMMARY+=("$STAGE: skipped")
        return 0
    fi
    return 1
}

# Totals over all suites, for the closing line.
PASSED=0 FAILED=0 SKIPPED=0
add_counts() { # add_counts SUITE PASSED FAILED SKIPPED
    PASSED=$((PASSED + $2)) FAILED=$((FAILED + $3)) SKIPPED=$((SKIPPED + $4))
    SUMMARY+=("$1: $2 passed, $3 failed, $4 skipped")
}

print_summary() {
    echo
    echo "==> summary"
    local line
    for line in "${SUMMARY[@]+"${SUMMARY[@]}"}"; do echo "    $line"; done
    echo "    total time: $(($(date +%s) - START))s"
}

overall_line() {
    echo "overall: $PASSED passed, $FAILED failed, $SKIPPED skipped"
}

# cargo test's "test result: ok. N passed; M failed; K ignored; ..." lines, summed.
cargo_counts() { # cargo_counts LOG -> "passed failed ignored"
    awk '/^test result:/ {
            for (i = 1; i <= NF; i++) {
                if ($(i+1) ~ /^passed;/)  p += $i
                if ($(i+1) ~ /^failed;/)  f += $i
                if ($(i+1) ~ /^ignored;/) s += $i
            }
         }
         END { printf "%d %d %d\n", p, f, s }' "$1"
}

# Test counts of one suite's reports under REPORT_DIR (python.xml, java/*.xml, go.json...).
suite_counts() { # suite_counts REPORT_DIR SUITE -> "passed failed skipped"
    python3 - "$1" "$2" <<'PY'
import json, sys, xml.etree.ElementTree as ET
from pathlib import Path
d, suite = Path(sys.argv[1]), sys.argv[2]
p = f = s = 0
for path in sorted(d.glob(f"{suite}.xml")) + sorted(d.glob(f"{suite}/*.xml")):
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None: f += 1
        elif case.find("skipped") is not None: s += 1
        else: p += 1
for path in sorted(d.glob(f"{suite}.json")):
    for line in path.read_text(errors="replace").splitlines():
        try: e = json.loads(line)
        except ValueError: continue
        if e.get("Test") and "/" not in e["Test"]:
            a = e.get("Action")
            p += a == "pass"; f += a == "fail"; s += a == "skip"
print(p, f, s)
PY
}

# --- 1. lint ------------------------------------------------------------------------
header lint "cargo fmt --check; cargo clippy -D warnings"
if ! skipping LINT; then
    cargo fmt --all -- --check || fail "cargo fmt found unformatted code (run: cargo fmt --all)"
    cargo clippy --workspace --all-targets -- -D warnings || fail "cargo clippy reported warnings or errors"
    stage_done
fi

# --- 2. build once, cargo test ----------------------------------------------------
header rust "cargo build --workspace --all-targets; cargo test --workspace"
# The JDBC connector tests start their own PostgreSQL and MariaDB: make sure they are installed.
STROM_PG_BINDIR="$(scripts/install-test-databases.sh)" || fail "installing PostgreSQL and MariaDB failed"
export STROM_PG_BINDIR
cargo build --workspace --all-targets || fail "cargo build failed"
export STROM_BROKER_BIN="$TARGET_DIR/debug/strom-broker"
export STROM_BIN="$TARGET_DIR/debug/strom"
export STROM_BENCH_BIN="$TARGET_DIR/debug/strom-bench"
export STROM_SCHEMA_REGISTRY_BIN="$TARGET_DIR/debug/strom-schema-registry"
export STROM_REST_PROXY_BIN="$TARGET_DIR/debug/strom-rest-proxy"
export STROM_CONNECT_BIN="$TARGET_DIR/debug/strom-connect"
for bin in "$STROM_BROKER_BIN" "$STROM_BIN" "$STROM_BENCH_BIN" "$STROM_SCHEMA_REGISTRY_BIN" \
    "$STROM_REST_PROXY_BIN" "$STROM_CONNECT_BIN"; do
    [[ -x "$bin" ]] || fail "cargo build did not produce $bin"
done
echo "built: STROM_BROKER_BIN=$STROM_BROKER_BIN STROM_BIN=$STROM_BIN"
if ! skipping RUST; then
    echo "(STROM_FUZZ_SECS=$STROM_FUZZ_SECS)"
    RUST_BACKTRACE="${RUST_BACKTRACE:-1}" cargo test --workspace 2>&1 | tee "$LOG_DIR/cargo-test.log" || {
        read -r p f s < <(cargo_counts "$LOG_DIR/cargo-test.log")
        add_counts "cargo test" "$p" "$f" "$s"
        fail "cargo test failed (log: $LOG_DIR/cargo-test.log)"
    }
    read -r p f s < <(cargo_counts "$LOG_DIR/cargo-test.log")
    add_counts "cargo test" "$p" "$f" "$s"
    # The benchmark program must keep working: a seconds-long run, Strom only.
    python3 bench/run.py --smoke --systems strom,strom-pagecache > "$LOG_DIR/bench-smoke.log" 2>&1 \
        || { tail -30 "$LOG_DIR/bench-smoke.log"; fail "bench/run.py --smoke failed (log: $LOG_DIR/bench-smoke.log)"; }
    echo "bench smoke run: ok (log: $LOG_DIR/bench-smoke.log)"
    stage_done
fi

# --- 3. test dependencies ---------------------------------------------------------
header deps "scripts/install-test-deps.sh"
scripts/install-test-deps.sh || fail "installing test dependencies failed"
stage_done

# --- 4... client suites ------------------------------------------------------------
# tests/clients/<suite>/run.sh REPORT_DIR runs one suite against strom-broker processes
# it starts itself and writes JUnit XML (or `go test -json`) under REPORT_DIR.
REPORT_DIR="$LOG_DIR/clients"
rm -rf "$REPORT_DIR"
mkdir -p "$REPORT_DIR"
ALL_SUITES_RAN=1
for suite in $CLIENT_SUITES; do
    header "$suite" "tests/clients/$suite/run.sh"
    var="$(echo "$suite" | tr '[:lower:]-' '[:upper:]_')"
    if skipping "$var"; then
        ALL_SUITES_RAN=0
        continue
    fi
    set +e
    "tests/clients/$suite/run.sh" "$REPORT_DIR"
    code=$?
    set -e
    read -r p f s < <(suite_counts "$REPORT_DIR" "$suite")
    add_counts "$suite" "$p" "$f" "$s"
    [[ $code -eq 0 ]] || fail "tests/clients/$suite/run.sh exited $code (reports: $REPORT_DIR)"
    ((p + f > 0)) || fail "the $suite suite ran no tests"
    stage_done
done

# --- 5... the services' own suites ---------------------------------------------------
# tests/<service>/<lang>/run.sh REPORT_DIR writes REPORT_DIR/<service>-<lang>.xml.
SERVICE_REPORT_DIR="$LOG_DIR/services"
rm -rf "$SERVICE_REPORT_DIR"
mkdir -p "$SERVICE_REPORT_DIR"
for suite in $SERVICE_SUITES; do
    name="${suite//\//-}"
    header "$name" "tests/$suite/run.sh"
    var="$(echo "$name" | tr '[:lower:]-' '[:upper:]_')"
    if skipping "$var"; then
        continue
    fi
    set +e
    "tests/$suite/run.sh" "$SERVICE_REPORT_DIR"
    code=$?
    set -e
    read -r p f s < <(suite_counts "$SERVICE_REPORT_DIR" "$name")
    add_counts "$name" "$p" "$f" "$s"
    [[ $code -eq 0 ]] || fail "tests/$suite/run.sh exited $code (reports: $SERVICE_REPORT_DIR)"
    ((p + f > 0)) || fail "the $name suite ran no tests"
    stage_done
done

# --- last: the compatibility matrix --------------------------------------------------
header matrix "tests/clients/matrix.py -> docs/compatibility.md"
if ((ALL_SUITES_RAN == 0)) || [[ "${STROM_SKIP_RUST:-0}" == "1" && "${CI:-}" != "true" ]]; then
    echo "skipped: not every suite ran, so the matrix would be incomplete"
    SUMMARY+=("matrix: skipped")
else
    check=()
    # CI fails on a stale docs/compatibility.md; a local full run refreshes it.
    [[ "${CI:-}" == "true" ]] && check=(--check docs/compatibility.md)
    python3 tests/clients/matrix.py --reports "$LOG_DIR" --out "$LOG_DIR/compatibility.md" "${check[@]}" \
        || fail "the compatibility matrix has failed or untested cells, or docs/compatibility.md is stale (see above; generated: $LOG_DIR/compatibility.md)"
    if [[ "${CI:-}" != "true" ]] && ! cmp -s "$LOG_DIR/compatibility.md" docs/compatibility.md; then
        cp "$LOG_DIR/compatibility.md" docs/compatibility.md
        echo "updated docs/compatibility.md (commit it)"
    fi
    SUMMARY+=("matrix: ok")
    stage_done
fi

print_summary
if ((FAILED > 0)); then
    echo "test.sh: FAILED (a suite reported failures)" >&2
    overall_line
    exit 1
fi
echo "test.sh: all stages passed"
overall_line
