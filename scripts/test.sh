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
# Most tests wait on timers and worker processes, so three run at once; the few that assert
# millisecond precision (marked `timing`) run alone afterwards, on a quiet machine.
# Exit status 5 means a selection (e.g. -k) left one of the two runs with nothing to run.
pytest -n 3 --dist loadfile -m "not timing" "$@" || [ $? -eq 5 ]
pytest -m timing "$@" || [ $? -eq 5 ]
