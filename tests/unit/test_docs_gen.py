"""The generated reference pages and the docs templates' data agree with their sources."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml
from jobforge.conformance import adapter
from jobforge.questionnaire.bank import load_bank
from jobforge.rubric.model import load_rubric

from jobforge.docs_gen.adapter_reference import adapter_reference_markdown
from jobforge.docs_gen.checks import check_catalogue_markdown
from jobforge.docs_gen.markdown import cell, code, table
from jobforge.docs_gen.pages import generated_pages
from jobforge.docs_gen.questions import question_reference_markdown
from jobforge.errors import UsageError

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
DOCS_DATA = REPO / "templates" / "project" / "~jobforge"


def _data(name: str) -> dict[str, object]:
    loaded = yaml.safe_load((DOCS_DATA / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_markdown_cell_keeps_one_line_and_escapes_pipes() -> None:
    assert cell("a |\n b") == "a \\| b"
    assert code(True) == "`true`" and code([1, 2]) == "`[1, 2]`"
    assert table(["x"], [("1",)]) == ["| x |", "| --- |", "| 1 |"]


def test_question_reference_lists_every_question_option_and_fill() -> None:
    bank = load_bank()
    page = question_reference_markdown(bank)
    for question in bank.questions:
        assert f"### `{question.key}`" in page
        for fill in question.fills:
            assert f"`{fill.doc}` ({fill.section})" in page
        for option in question.options:
            assert f"| `{option.value}` | {cell(option.label)} | {cell(option.pros)} |" in page
    for job_type in bank.decision_tree.job_types:
        assert job_type.pattern.split()[0] in page


def test_check_catalogue_has_every_rubric_check_with_its_level() -> None:
    rubric = load_rubric()
    page = check_catalogue_markdown(rubric, {"idempotency.duplicate_submit": "submit twice"})
    for dimension in rubric.dimensions:
        level3 = set(dimension.level(3).requires)
        for check in dimension.checks:
            row = next(line for line in page.splitlines() if line.startswith(f"| `{check.id}` |"))
            assert row.split(" | ")[2] == ("3" if check.id in level3 else "5"), row
    assert "| submit twice |" in page


def test_adapter_reference_covers_every_protocol_member_and_value_type() -> None:
    page = adapter_reference_markdown()
    members = [n for n in vars(adapter.Adapter) if not n.startswith("_")]
    assert len(members) >= 15
    for name in members:
        assert f"`{name}(" in page, name
    for capability in adapter.Capability:
        assert f"`{capability.value}`" in page
    for field in dataclasses.fields(adapter.JobSpec):
        assert f"`{field.name}`" in page
    signatures = [line.split(" | ")[0] for line in page.splitlines() if line.startswith("| `")]
    assert signatures and not any("'" in s for s in signatures), "annotations must not be quoted"


def test_generated_pages_name_the_missing_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(
        UsageError, match=r"questionnaire/questions.yaml: cannot read .*repository top"
    ):
        generated_pages(tmp_path)


def test_technology_facts_cover_every_queue_technology_in_the_bank() -> None:
    facts = _data("technologies.yml")
    choices = set(load_bank().question("queue_technology").choices)
    assert set(facts) == choices
    for name, entry in facts.items():
        assert isinstance(entry, dict)
        missing = {
            "framework",
            "broker",
            "broker_short",
            "ledger_store",
            "server",
            "delivery",
            "scaling",
            "persistence",
            "failure_modes",
            "operations",
        } - set(entry)
        assert not missing, f"{name} lacks {sorted(missing)}"
        assert len(entry["failure_modes"]) >= 3


def test_monitoring_and_job_kind_data_cover_every_choice_in_the_bank() -> None:
    bank = load_bank()
    monitoring = _data("monitoring.yml")
    for key, section in (
        ("metrics", "metrics"),
        ("monitoring_tools", "tools"),
        ("alert_channels", "channels"),
    ):
        section_data = monitoring[section]
        assert isinstance(section_data, dict)
        assert set(section_data) == set(bank.question(key).choices), key
    kinds = _data("job_kinds.yml")
    assert set(kinds) == {j.value for j in bank.decision_tree.job_types}


@pytest.mark.parametrize(
    "path",
    [
        "questionnaire/questions.yaml",
        "questionnaire/decision_tree.yaml",
        "templates/project/~jobforge/technologies.yml",
        "templates/project/~jobforge/monitoring.yml",
        "templates/project/~jobforge/job_kinds.yml",
    ],
)
def test_yaml_the_templates_include_has_no_jinja_delimiters(path: str) -> None:
    # The spec templates read these files with {% include %} and `from_yaml`, so a Jinja
    # delimiter inside them would be executed instead of read.
    text = (REPO / path).read_text(encoding="utf-8")
    assert not re.search(r"\{\{|\{%|\{#", text), f"{path} contains a Jinja delimiter"


def test_check_catalogue_page_says_how_the_kit_runs_every_check() -> None:
    page = next(p for p in generated_pages(REPO) if p.src_uri == "reference/checks.md").content
    assert "not implemented by the kit yet" not in page
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert len(rows) == sum(len(d.checks) for d in load_rubric().dimensions)
    crash = next(row for row in rows if row.startswith("| `idempotency.redelivery_after_crash`"))
    assert "Needs `idempotency_keys`, `kill_worker`." in crash
