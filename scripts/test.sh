#!/usr/bin/env bash
# Strom's one test command (CI runs it through .ci/run). From the repo root:
#
#     scripts/test.sh
#
# Stages, in order, failing fast:
#   1. lint         cargo fmt --check; cargo clippy -D warnings
#   2. rust         cargo build --workspace --all-targets (once); cargo test --workspace
#   3. deps         scripts/install-test-deps.sh (.venv, Maven dependencies)
#   4. python       pytest tests/python            (kafka-python vs `strom up`)
#   5. java         mvn test in tests/java         (kafka-clients vs `strom-broker`)
# The suites use the binaries stage 2 built (STROM_BIN, STROM_BROKER_BIN).
#
# Env:
#   STROM_SKIP_LINT=1 STROM_SKIP_RUST=1 STROM_SKIP_PYTHON=1 STROM_SKIP_JAVA=1
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
STAGES=5
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

# JUnit XML reports (pytest --junitxml, Surefire), summed.
junit_counts() { # junit_counts FILE... -> "passed failed skipped"
    python3 - "$@" <<'PY'
import sys, xml.etree.ElementTree as ET
tests = failed = skipped = 0
for path in sys.argv[1:]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    for s in suites:
        tests += int(s.get("tests", 0))
        failed += int(s.get("failures", 0)) + int(s.get("errors", 0))
        skipped += int(s.get("skipped", 0))
print(tests - failed - skipped, failed, skipped)
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
cargo build --workspace --all-targets || fail "cargo build failed"
export STROM_BROKER_BIN="$TARGET_DIR/debug/strom-broker"
export STROM_BIN="$TARGET_DIR/debug/strom"
for bin in "$STROM_BROKER_BIN" "$STROM_BIN"; do
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
    stage_done
fi

# --- 3. test dependencies ---------------------------------------------------------
header deps "scripts/install-test-deps.sh"
scripts/install-test-deps.sh || fail "installing test dependencies failed"
stage_done

# --- 4. Python suite --------------------------------------------------------------
header python "pytest tests/python (kafka-python against strom up)"
if ! skipping PYTHON; then
    report="$LOG_DIR/pytest.xml"
    rm -f "$report"
    set +e
    .venv/bin/pytest tests/python -q --junitxml="$report"
    code=$?
    set -e
    if [[ -f "$report" ]]; then
        read -r p f s < <(junit_counts "$report")
        add_counts "python (pytest)" "$p" "$f" "$s"
    fi
    case $code in
        0) stage_done ;;
        5) fail "pytest collected no tests in tests/python" ;;
        *) fail "pytest exited $code" ;;
    esac
fi

# --- 5. Java suite ----------------------------------------------------------------
header java "mvn test in tests/java (kafka-clients against strom-broker)"
if ! skipping JAVA; then
    reports=tests/java/target/surefire-reports
    rm -rf "$reports"
    set +e
    # Not -q: Surefire's "Tests run: N, Failures: ..." lines are INFO-level.
    # (sed drops the colour resets Maven 3.8 prints even in batch mode.)
    mvn -B -ntp -f tests/java/pom.xml test 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g'
    code=${PIPESTATUS[0]}
    set -e
    shopt -s nullglob
    xmls=("$reports"/TEST-*.xml)
    shopt -u nullglob
    if ((${#xmls[@]} > 0)); then
        read -r p f s < <(junit_counts "${xmls[@]}")
        add_counts "java (surefire)" "$p" "$f" "$s"
    fi
    [[ $code -eq 0 ]] || fail "mvn test exited $code (reports: $reports)"
    ((${#xmls[@]} > 0)) || fail "Surefire ran no test classes"
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
