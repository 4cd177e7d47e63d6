#!/usr/bin/env bash
# Set up everything from scratch in .venv, then run lint, type checks and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
# The runtime library is its own distribution in runtime/; its tests run with the kit's.
.venv/bin/python -m pip install --quiet -e './runtime[huey,celery,rq,procrastinate]'
export PATH="$PWD/.venv/bin:$PATH"
ruff check .
ruff format --check .
bash scripts/typecheck.sh
pytest "$@"
