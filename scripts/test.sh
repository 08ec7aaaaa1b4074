#!/bin/sh
# The project's test command: README.md's quick start and .ci/run call exactly this.
# It installs everything it needs on a fresh Debian 12 / Python 3.11 machine, then runs
# lint, format check, type check and the whole pytest suite.
set -eu
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
# Node 20 for the LDK tests, when the machine has none, is unpacked here by scripts/install-node.sh
PATH="$PWD/.venv/node/bin:$PATH"
export PATH
if [ -x scripts/install-system-deps.sh ]; then
    scripts/install-system-deps.sh
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# --dist loadgroup: tests/conftest.py keeps each module with a module-scoped fixture on one worker (the
# fixture is built once) and starts the long tests first. --hypothesis-profile=ci: no per-example
# deadline on a loaded machine, same number of examples (see tests/conftest.py).
.venv/bin/pytest -n auto --dist loadgroup --hypothesis-profile=ci "$@"
