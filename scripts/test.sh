#!/usr/bin/env bash
# Set up everything from scratch in .venv, then run lint, type checks and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
# The runtime library is its own distribution in runtime/; its tests run with the kit's.
.venv/bin/python -m pip install --quiet -e './runtime[huey,celery,rq,procrastinate,amqp,sqs,postgres]'
# The SQS tests run boto3 against moto's server mode, started as a subprocess (never in-process).
.venv/bin/python -m pip install --quiet 'moto[server]>=5'
export PATH="$PWD/.venv/bin:$PATH"
ruff check .
ruff format --check .
bash scripts/typecheck.sh
pytest "$@"
