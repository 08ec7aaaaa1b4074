#!/bin/sh
# System packages some tests need: headless Chromium and its WebDriver for the report.html test.
# Installs only when running as root on an apt system and only what is missing (idempotent, quiet);
# otherwise says what to install and exits 0: the tests that need them skip with a clear reason.
set -eu
"$(dirname "$0")/install-electrum.sh"  # Electrum 4.3.4 for the Electrum interop tests
"$(dirname "$0")/install-ldk.sh"  # LDK 0.1 (npm ci in interop/ldk) for the LDK interop tests

packages="chromium chromium-driver"

missing=""
for package in $packages; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: missing:$missing (needs root and apt-get; the Chromium test will skip)" >&2
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when they have never been fetched.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true)" ]; then
    apt-get update -qq >/dev/null
fi
# Stale package lists (a mirror that dropped the listed version) fail the install: refresh once, retry.
# shellcheck disable=SC2086  # the list is meant to split into words
if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
