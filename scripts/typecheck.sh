#!/usr/bin/env bash
# mypy --strict over the one `jobforge` namespace. The subpackages live in top-level folders
# (setuptools package-dir), which mypy cannot map from the source tree; so build a tree of
# symlinks shaped like the installed package and check that.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .typecheck && mkdir -p .typecheck/jobforge
for entry in jobforge/*; do
  ln -s "../../$entry" ".typecheck/jobforge/$(basename "$entry")"
done
for sub in questionnaire rubric conformance templates; do
  ln -s "../../$sub" ".typecheck/jobforge/$sub"
done
# The runtime library (runtime/) is its own distribution with its own mypy settings.
"${MYPY:-.venv/bin/mypy}" --config-file runtime/pyproject.toml runtime/jobforge_runtime "$@"
# The kit's jobforge-runtime adapter imports the runtime from this checkout.
MYPYPATH=.typecheck:runtime exec "${MYPY:-.venv/bin/mypy}" -p jobforge "$@"
