#!/bin/sh
# LDK 0.1 (WebAssembly) for the LDK interop tests: `npm ci` in interop/ldk from the committed
# package-lock.json (pinned versions). Idempotent: does nothing when node_modules matches the lock.
# Node 20+ from PATH, else from .venv/node (scripts/install-node.sh). Without it, it says so and
# exits 0: the LDK tests skip with that reason.
set -eu
dir="$(cd "$(dirname "$0")/../interop/ldk" && pwd)"
"$(dirname "$0")/install-node.sh"  # Node 20 + npm into .venv/node when the machine has no Node 20
PATH="$(cd "$dir/../.." && pwd)/.venv/node/bin:$PATH"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "install-ldk: node/npm not found (Node 20+ needed); the LDK tests will skip" >&2
    exit 0
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
    echo "install-ldk: Node $major is too old (20+ needed); the LDK tests will skip" >&2
    exit 0
fi
# npm writes node_modules/.package-lock.json on install; equal to the lock's packages = up to date.
if [ -f "$dir/node_modules/.package-lock.json" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    exit 0
fi
cd "$dir"
npm ci --no-audit --no-fund --loglevel=error >/dev/null  # quiet; errors still go to stderr
