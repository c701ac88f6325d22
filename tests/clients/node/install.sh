#!/usr/bin/env bash
# Installs the Node.js client suite's packages (exact versions of package-lock.json)
# into tests/clients/node/node_modules with `npm ci`. Idempotent: does nothing while
# package-lock.json is unchanged and the packages load.
# Needs Node >= 20.13 (node --test's junit reporter) and npm; zstd-napi and lz4 build
# native add-ons with node-gyp (a C/C++ compiler, make, python3 and Node's headers).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v node >/dev/null || { echo "node: no node on PATH (need Node >= 20.13)" >&2; exit 1; }
command -v npm >/dev/null || { echo "node: no npm on PATH" >&2; exit 1; }
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=13)?0:1)' \
    || { echo "node: need Node >= 20.13, have $(node --version)" >&2; exit 1; }

stamp=node_modules/.strom-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
loads() {
    node -e 'require("kafkajs"); require("kafkajs-snappy"); require("kafkajs-lz4"); require("zstd-napi")' 2>/dev/null
}
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && loads; then
    echo "node: node_modules up to date"
    exit 0
fi
# node-gyp needs Node's headers; use the installed ones rather than downloading them.
if [[ -z "${npm_config_nodedir:-}" && -f /usr/include/node/node.h ]]; then
    export npm_config_nodedir=/usr
fi
# zstd-napi first tries to download a prebuilt binary (prebuild-install), then
# builds from the sources in its npm package.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
    grep -v 'Unknown user config' "$log" >&2
    echo "node: npm ci failed" >&2
    exit 1
fi
loads || { echo "node: packages installed but do not load" >&2; exit 1; }
echo "$want" > "$stamp"
echo "node: installed $(node -p 'Object.entries(require("./package.json").dependencies).map(([k,v])=>k+"@"+v).join(" ")')"
