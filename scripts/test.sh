#!/bin/sh
# The project's test command: README.md's quick start and .ci/run call exactly this.
# It installs everything it needs on a fresh Debian 12 / Python 3.11 machine, then runs
# lint, format check, type check and the whole pytest suite.
set -eu
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
if [ -x scripts/install-system-deps.sh ]; then
    scripts/install-system-deps.sh
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest -n auto "$@"
