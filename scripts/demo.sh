#!/usr/bin/env bash
# The main job on the embedded default, from scratch: set up .venv, generate a job subsystem for
# Huey on SQLite (no server) from examples/answers/sqlite.yml into .demo/app, install it in its
# own virtual environment, run its own tests, then score it on the 35-point rubric.
# Reports land in .demo/app: score.json, score.md, badge.svg. Exit code: 0 when the generated
# project meets its policy (jobforge-policy.yml, a minimum total of 28), 1 below it, 2 inconclusive.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .demo
mkdir -p .demo
# pip's build chatter goes to .demo/pip.log, shown only when an install fails.
quiet_pip() { "$@" > .demo/pip.log 2>&1 || { cat .demo/pip.log; return 1; }; }

python3 -m venv .venv
quiet_pip .venv/bin/python -m pip install --upgrade pip
quiet_pip .venv/bin/python -m pip install -e .
.venv/bin/jobforge new .demo/app --answers examples/answers/sqlite.yml

# The generated project as its users would install it: its own venv, the runtime it depends on
# (from ./runtime: not on a package index yet), its dev extra, and jobforge.
python3 -m venv .demo/venv
quiet_pip .demo/venv/bin/python -m pip install --upgrade pip
quiet_pip .demo/venv/bin/python -m pip install './runtime[huey]' -e . -e '.demo/app[dev]'

cd .demo/app
echo "== the generated project's own tests"
../venv/bin/python -m pytest -q -p no:cacheprovider
echo "== jobforge score (ci profile: real worker processes, faults injected)"
../venv/bin/jobforge score --json score.json --markdown score.md --badge badge.svg \
  --policy jobforge-policy.yml
