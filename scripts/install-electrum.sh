#!/bin/sh
# Install Electrum 4.3.4 (Debian 12's `electrum` package) for the Electrum interop tests.
# Idempotent: does nothing when the package is already installed. Electrum runs on Debian's
# /usr/bin/python3, not on the project's virtualenv; the harness drives it as a separate process.
set -eu
if dpkg-query -W -f='${Status}' electrum 2>/dev/null | grep -q "install ok installed"; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-electrum.sh: need root or sudo to apt-get install electrum; Electrum tests will skip" >&2
    exit 0
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends electrum
dpkg-query -W -f='electrum ${Version} installed\n' electrum
