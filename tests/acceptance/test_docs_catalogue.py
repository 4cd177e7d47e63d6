"""The spec documents describe the subsystem the template really generates.

For every example whose queue technology gets a generated subsystem, the job catalogue table
must match the catalogue the generated package builds, every file and module the documents name
must exist in the generated project, and every command and metric must be the runtime's.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from docs_support import SPEC_DOCS, answers_of, render, sections, template_root, valid_examples
from jobforge.questionnaire.bank import load_bank
from jobforge_runtime import cli as runtime_cli
from jobforge_runtime import metrics as runtime_metrics

pytestmark = pytest.mark.acceptance

TECHNOLOGIES = {o.value: o for o in load_bank().question("queue_technology").options}
GENERATED = [
    p
    for p in valid_examples()
    if TECHNOLOGIES[answers_of(p)["queue_technology"]].generated == "subsystem"
]

DUMP_CATALOGUE = """
import json, sys
from {pkg}.app import APP
s = APP.base_settings
rows = [[j.name, j.queue or s.queues[0], j.timeout_s or s.timeout_s, j.priority, j.concurrency,
         j.max_attempts or s.max_attempts] for j in APP.catalogue]
json.dump(rows, sys.stdout)
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Render each example whose technology gets a generated subsystem."""
    root = template_root(tmp_path_factory.mktemp("root"))
    out = tmp_path_factory.mktemp("projects")
    return {p.stem: render(root, answers_of(p), out / p.stem) for p in GENERATED}


def test_subsystem_examples_exist() -> None:
    assert {"sqlite", "celery-redis"} <= {p.stem for p in GENERATED}


def _table_rows(section: str) -> list[list[str]]:
    lines = [line for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]


@pytest.mark.parametrize("example", [p.stem for p in GENERATED])
def test_job_catalogue_table_matches_the_generated_catalogue(
    example: str, generated: dict[str, Path]
) -> None:
    project = generated[example]
    answers = answers_of(next(p for p in GENERATED if p.stem == example))
    pkg = answers["package_name"]
    dumped = subprocess.run(
        [sys.executable, "-c", DUMP_CATALOGUE.format(pkg=pkg)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    real = {row[0]: row for row in json.loads(dumped.stdout)}
    components = sections((project / SPEC_DOCS[0]).read_text(encoding="utf-8"))["Components"]
    catalogue = components.split("### Job catalogue")[1].split("###")[0]
    documented = {row[0].strip("`"): row for row in _table_rows(catalogue)}
    assert set(documented) == set(real)
    for name, (_, queue, timeout, priority, limit, attempts) in real.items():
        row = documented[name]
        assert row[3] == f"`{queue}`", row
        assert row[4].startswith(f"{timeout:g} s"), row
        assert row[5] == str(attempts) and row[6] == str(priority), row
        assert row[7] == (f"{limit} at once" if limit else "global cap only"), row


@pytest.mark.parametrize("example", [p.stem for p in GENERATED])
def test_files_modules_and_commands_named_in_the_docs_exist(
    example: str, generated: dict[str, Path]
) -> None:
    project = generated[example]
    pkg = answers_of(next(p for p in GENERATED if p.stem == example))["package_name"]
    text = "\n".join((project / doc).read_text(encoding="utf-8") for doc in SPEC_DOCS)
    paths = set(re.findall(rf"`({pkg}/[\w/.]*)`", text))
    modules = set(re.findall(rf"python -m ({pkg}(?:\.\w+)+)", text))
    commands = set(re.findall(rf"python -m {pkg} (\w+)", text))
    # the docs name the package's files, at least its worker module and some CLI commands
    assert len(paths) >= 4 and modules and commands
    missing = [p for p in paths if not (project / p).exists()]
    missing += [m for m in modules if not (project / (m.replace(".", "/") + ".py")).is_file()]
    cli = runtime_cli.parser()
    (verbs,) = [a for a in cli._actions if isinstance(a, argparse._SubParsersAction)]
    missing += [c for c in commands if c not in verbs.choices]
    (dlq,) = [a for a in verbs.choices["dlq"]._actions if isinstance(a, argparse._SubParsersAction)]
    for sub in set(re.findall(rf"`(?:python -m {pkg} )?dlq (\w+)", text)):
        if sub not in dlq.choices:
            missing.append(f"dlq {sub}")
    for module, flag in set(re.findall(rf"python -m {pkg}\.(\w+)(?: \w+)* (--[\w-]+)", text)):
        options = verbs.choices[module].format_help() if module in verbs.choices else ""
        if flag not in options:
            missing.append(f"{module} {flag}")
    assert not missing, f"named in the docs but not generated: {sorted(missing)}"


@pytest.mark.parametrize("example", [p.stem for p in GENERATED])
def test_every_metric_the_docs_name_is_exported_by_the_runtime(
    example: str, generated: dict[str, Path]
) -> None:
    project = generated[example]
    observability = sections((project / SPEC_DOCS[0]).read_text(encoding="utf-8"))["Observability"]
    metrics = observability.split("### Metrics")[1].split("###")[0]
    named = set(re.findall(r"`((?:jobs?_|queue_|dlq_)\w+)(?:\{[\w,]*\})?`", metrics))
    assert len(named) >= 3, named  # the answered metrics: at least queue depth, failures, DLQ
    exporter = Path(runtime_metrics.__file__).read_text(encoding="utf-8")
    missing = [name for name in named if f'"{name}"' not in exporter]
    assert not missing, f"the docs name metrics the package does not export: {missing}"
