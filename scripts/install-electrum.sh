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
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"  # never prompt: CI has no terminal
else
    echo "install-electrum.sh: need root or password-less sudo to apt-get install electrum; Electrum tests will skip" >&2
    exit 0
fi
# quiet; on failure apt's own messages are shown
if ! log="$($SUDO apt-get update -qq 2>&1)"; then
    echo "$log" >&2
    exit 1
fi
if ! log="$(DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends electrum 2>&1)"; then
    echo "$log" >&2
    exit 1
fi
dpkg-query -W -f='electrum ${Version} installed\n' electrum
