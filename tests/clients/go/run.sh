#!/usr/bin/env bash
# Runs the Go (franz-go) client suite; writes REPORT_DIR/go.json (`go test -json`)
# and prints each test's outcome as it finishes, the output of failed tests, and
# totals. Exits non-zero when a test (or the package: TestMain, a timeout) fails.
# Usage: tests/clients/go/run.sh REPORT_DIR [go test args, e.g. -run 'TestGroups' -v]
# Env: STROM_BROKER_BIN (default <repo>/target/debug/strom-broker).
set -euo pipefail
report_dir="$(mkdir -p "$1" && cd "$1" && pwd)"; shift
# The tests run in this directory: make a relative STROM_BROKER_BIN absolute first.
if [[ -n "${STROM_BROKER_BIN:-}" && "$STROM_BROKER_BIN" != /* ]]; then
    STROM_BROKER_BIN="$(pwd)/$STROM_BROKER_BIN"
    export STROM_BROKER_BIN
fi
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v go >/dev/null || { echo "go: no go on PATH (run tests/clients/go/install.sh)" >&2; exit 1; }
report="$report_dir/go.json"
rm -f "$report"

start=$(date +%s)
set +e
go test -mod=readonly -count=1 -json -timeout 8m "$@" ./... | tee "$report" | python3 -c '
import json, sys

results, output, order, pkg_out, pkg_fail = {}, {}, [], [], False
for line in sys.stdin:
    if not line.startswith("{"):
        print(line, end="")  # build errors and the like
        continue
    try:
        ev = json.loads(line)
    except json.JSONDecodeError:
        print(line, end="")
        continue
    test, action = ev.get("Test"), ev.get("Action")
    if action == "output":
        (output.setdefault(test, []) if test else pkg_out).append(ev.get("Output", ""))
    elif test and action in ("pass", "fail", "skip"):
        elapsed = ev.get("Elapsed", 0)
        results[test] = (action, elapsed)
        order.append(test)
        print(f"{action.upper():4} {test} ({elapsed:.2f}s)", flush=True)
    elif not test and action == "fail":
        pkg_fail = True

failed = [t for t in order if results[t][0] == "fail"]
for t in failed:
    print(f"\n=== output of failed {t}")
    print("".join(output.get(t, [])), end="")
if pkg_fail and not failed:
    print("\n=== package output (TestMain or a timeout failed)")
    print("".join(pkg_out), end="")
# Totals count leaf tests (a test with subtests counts as its subtests).
leaves = [t for t in results if not any(o.startswith(t + "/") for o in results)]
count = {a: sum(1 for t in leaves if results[t][0] == a) for a in ("pass", "fail", "skip")}
passed, nfailed, skipped = count["pass"], count["fail"], count["skip"]
print(f"\ngo: {passed} passed, {nfailed} failed, {skipped} skipped ({len(leaves)} tests)"
      + ("; the package failed" if pkg_fail else ""))
'
codes=("${PIPESTATUS[@]}")
set -e
echo "go: wall time $(( $(date +%s) - start ))s; report: $report"
[[ "${codes[0]}" -eq 0 && "${codes[2]}" -eq 0 ]] || exit 1
