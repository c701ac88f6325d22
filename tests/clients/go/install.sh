#!/usr/bin/env bash
# Installs the Go client suite's modules (exact versions of go.mod / go.sum) into
# the Go module cache and compiles the tests once (go vet), so a compile error or
# a missing module fails here rather than in run.sh. Idempotent: a second run
# downloads nothing and prints one line.
# Needs Go >= 1.26 (go.mod's `go` line; with an older go, GOTOOLCHAIN=auto fetches it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v go >/dev/null || { echo "go: no go on PATH (need Go >= 1.26)" >&2; exit 1; }

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! go mod download -x >"$log" 2>&1; then
    cat "$log" >&2
    echo "go: go mod download failed" >&2
    exit 1
fi
downloaded=$(grep -c '^# get ' "$log" || true)
# -mod=readonly: fail rather than edit go.mod/go.sum if they are not tidy.
if ! go vet -mod=readonly ./... >"$log" 2>&1; then
    cat "$log" >&2
    echo "go: go vet failed" >&2
    exit 1
fi
if [[ "$downloaded" -gt 0 ]]; then
    echo "go: downloaded $(go list -m -f '{{.Path}}@{{.Version}}' github.com/twmb/franz-go github.com/twmb/franz-go/pkg/kadm | tr '\n' ' ')and their dependencies; tests compile"
else
    echo "go: modules up to date; tests compile"
fi
