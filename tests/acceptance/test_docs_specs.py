"""The spec documents the template generates: complete, strict-buildable, filled from the answers.

One project is rendered per valid example answers file (``examples/answers/*.yml``) and its
specs site is built with ``mkdocs build --strict -f mkdocs.jobs.yml``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from docs_support import (
    PLACEHOLDER,
    SPEC_DOCS,
    answers_of,
    mkdocs_build,
    render,
    sections,
    template_root,
    valid_examples,
)
from jobforge.questionnaire.bank import Question, load_bank
from jobforge.questionnaire.validation import answer_errors
from jobforge_runtime.retry import RetryPolicy

pytestmark = pytest.mark.acceptance

EXAMPLES = valid_examples()
BANK = load_bank()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Assemble the copier template root once for the module."""
    return template_root(tmp_path_factory.mktemp("root"))


@pytest.fixture(scope="module")
def projects(root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Render one project per valid example answers file, keyed by the file's stem."""
    out = tmp_path_factory.mktemp("projects")
    return {p.stem: render(root, answers_of(p), out / p.stem) for p in EXAMPLES}


def _doc(project: Path, doc: str) -> str:
    return (project / doc).read_text(encoding="utf-8")


def test_examples_include_the_embedded_default_and_celery_redis() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"sqlite", "celery-redis"} <= names, f"valid examples found: {sorted(names)}"


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_generated_docs_build_strict_with_no_placeholder(
    example: str, projects: dict[str, Path]
) -> None:
    project = projects[example]
    for doc in (*SPEC_DOCS, "docs/jobs/index.md"):
        text = _doc(project, doc)
        leftover = PLACEHOLDER.search(text)
        assert leftover is None, f"{example}: {doc} has {leftover.group()!r}" if leftover else ""
    assert not list(project.rglob("~*")), "template-only data leaked into the project"
    result = mkdocs_build(project / "mkdocs.jobs.yml")
    assert result.returncode == 0, result.stderr
    for page in ("specs/technical_design_spec", "specs/codebase_spec", "patterns/background_jobs"):
        assert (project / "site" / "jobs" / page / "index.html").is_file()


def _expected(question: Question, value: Any) -> list[str]:
    """Return the strings that show ``value`` in a document (bools are checked by flipping)."""
    if isinstance(value, list):
        if not value:
            return ["none"]
        return [s for item in value for s in _expected(question, item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _expected(question, item)]
    if isinstance(value, float):
        return [f"{value:g}"]
    if question.options or question.kind in ("identifier", "identifier_list"):
        return [f"`{value}`"]
    return [str(value)]


def _contains(text: str, needle: str) -> bool:
    if needle == "none":
        return "none" in text.lower()
    if re.fullmatch(r"[\d.]+", needle):
        return re.search(rf"(?<![\w.]){re.escape(needle)}(?![\w]|\.\d)", text) is not None
    return needle in text


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_every_answer_appears_in_each_section_its_question_fills(
    example: str, projects: dict[str, Path]
) -> None:
    answers = answers_of(next(p for p in EXAMPLES if p.stem == example))
    project = projects[example]
    missing: list[str] = []
    checked = 0
    for question in BANK.questions:
        value = answers[question.key]
        if isinstance(value, bool):
            continue
        for fill in question.fills:
            found = sections(_doc(project, fill.doc))
            assert fill.section in found, f"{fill.doc} has no section {fill.section!r}"
            for needle in _expected(question, value):
                checked += 1
                if not _contains(found[fill.section], needle):
                    missing.append(f"{question.key}={needle} not in {fill.doc} § {fill.section}")
    assert checked > 40
    assert not missing, "\n".join(missing)


def _flipped(answers: dict[str, Any], key: str) -> dict[str, Any] | None:
    changed = {**answers, key: not answers[key]}
    if key == "dead_letter_queue" and not changed[key]:
        changed["manual_retry"] = False
    return None if answer_errors(changed) else changed


@pytest.mark.parametrize("example", ["sqlite", "celery-redis"])
def test_flipping_a_yes_no_answer_changes_each_section_it_fills(
    example: str, root: Path, projects: dict[str, Path], tmp_path: Path
) -> None:
    answers = answers_of(next(p for p in EXAMPLES if p.stem == example))
    flipped_any = 0
    for question in BANK.questions:
        if question.kind != "bool":
            continue
        changed = _flipped(answers, question.key)
        if changed is None:
            continue
        flipped_any += 1
        other = render(root, changed, tmp_path / question.key)
        for fill in question.fills:
            before = sections(_doc(projects[example], fill.doc))[fill.section]
            after = sections(_doc(other, fill.doc))[fill.section]
            assert before != after, f"{question.key} flipped: {fill.doc} § {fill.section} unchanged"
    assert flipped_any >= 3


def _section(project: Path, doc: str, name: str) -> str:
    return sections(_doc(project, doc))[name]


def test_retry_schedule_lists_each_attempt_with_its_real_delay(projects: dict[str, Path]) -> None:
    answers = answers_of(next(p for p in EXAMPLES if p.stem == "sqlite"))
    text = _section(projects["sqlite"], SPEC_DOCS[0], "Error Handling & Resilience")
    delays = answers["backoff_delays_seconds"]
    fixed = answers["backoff_strategy"] == "fixed"
    # The delays the runtime really waits, from the settings the project generates.
    policy = RetryPolicy(
        max_attempts=answers["max_retries"] + 1,
        base_delay_s=delays[0],
        max_delay_s=delays[0] if fixed else delays[-1],
        jitter=0,
    )
    total = 0
    for i in range(answers["max_retries"]):
        delay = int(policy.base_delay(i + 1))
        total += delay
        row = next(
            line for line in text.splitlines() if line.startswith(f"| {i + 2} (retry {i + 1} ")
        )
        assert f"| {delay} s" in row and f"| {total} s" in row, row


def test_sqlite_and_celery_redis_specs_differ_in_technology_operations_and_failure_modes(
    projects: dict[str, Path],
) -> None:
    sqlite, celery = projects["sqlite"], projects["celery-redis"]
    tds = SPEC_DOCS[0]
    ios = SPEC_DOCS[2]

    def without_names(text: str, project: Path) -> str:
        answers = answers_of(next(p for p in EXAMPLES if p.stem == project.name))
        return text.replace(answers["project_name"], "P").replace(answers["package_name"], "pkg")

    for doc, name in (
        (tds, "Components"),
        (tds, "Error Handling & Resilience"),
        (ios, "Data & State"),
    ):
        a = without_names(_section(sqlite, doc, name), sqlite)
        b = without_names(_section(celery, doc, name), celery)
        assert a != b, f"{doc} § {name} differs only in names"
    sqlite_errors = _section(sqlite, tds, "Error Handling & Resilience")
    celery_errors = _section(celery, tds, "Error Handling & Resilience")
    assert "visibility timeout" in celery_errors and "visibility timeout" not in sqlite_errors
    assert "two hosts open the same database file" in sqlite_errors
    assert "Celery" in _section(celery, ios, "Data & State")
    assert "Huey" in _section(sqlite, ios, "Data & State")
    assert "Operating Celery on Redis" in _section(celery, ios, "Data & State")


def test_options_spec_shows_every_alternative_with_pros_and_cons_from_the_bank(
    projects: dict[str, Path],
) -> None:
    text = _section(projects["sqlite"], SPEC_DOCS[2], "Data & State")
    technology = BANK.question("queue_technology")
    for option in technology.options:
        assert option.label in text
        assert option.pros in text and option.cons in text


def test_diagrams_show_the_lifecycle_states_and_the_components(projects: dict[str, Path]) -> None:
    text = _doc(projects["celery-redis"], SPEC_DOCS[0])
    assert "stateDiagram-v2" in text and "flowchart TB" in text
    for edge in (
        "PENDING --> RUNNING",
        "RUNNING --> COMPLETED",
        "FAILED --> RETRYING",
        "FAILED --> DEAD",
    ):
        assert edge in text


def _rows(text: str) -> dict[str, list[str]]:
    """Table rows keyed by their first cell."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
            rows[cells[0]] = cells
    return rows


def _own_words(text: str) -> str:
    return text[:-1] if text.endswith(".") else text


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_options_spec_gives_every_alternative_a_reason_from_its_trade_offs_and_the_answers(
    example: str, projects: dict[str, Path]
) -> None:
    answers = answers_of(next(p for p in EXAMPLES if p.stem == example))
    text = _doc(projects[example], SPEC_DOCS[2])
    technology = BANK.question("queue_technology")
    chosen = technology.option(answers["queue_technology"])
    count = len(answers["schedules"])
    from_answers = [
        chosen.label,
        f"{answers['worker_count']} workers",
        f"job types ({', '.join(answers['job_types'])})",
        f"({count} schedule" if count else "recurring jobs",
        "this project",
    ]
    rows = _rows(sections(text)["Data & State"])
    for option in technology.options:
        if option.value == chosen.value:
            continue
        reason = rows[f"{option.label} (`{option.value}`)"][-1]
        assert f"its own cons: {_own_words(option.cons)}" in reason, (option.value, reason)
        assert any(token in reason for token in from_answers), (option.value, reason)
    decisions = _rows(sections(text)["Decisions"])
    checked = 0
    for key in ("scaling_strategy", "scheduler_tool", "backoff_strategy"):
        question = BANK.question(key)
        for option in question.options:
            if option.value != answers[key]:
                reason = decisions[f"{option.label} (`{option.value}`)"][-1]
                assert f"its own cons: {_own_words(option.cons)}" in reason, (key, reason)
                picked = question.option(answers[key])
                grounded = [picked.label, chosen.label, "this project"]
                assert any(token in reason for token in grounded), (key, reason)
                checked += 1
    assert checked >= 10
    # Never the old circular reason: a consequence of the choice offered as its cause.
    assert "does not run on it" not in text and "the chosen scheduler" not in text


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_options_spec_carries_the_teams_own_reasons_when_given(
    example: str, projects: dict[str, Path]
) -> None:
    answers = answers_of(next(p for p in EXAMPLES if p.stem == example))
    decisions = sections(_doc(projects[example], SPEC_DOCS[2]))["Decisions"]
    reasons = [key for key in answers if key.endswith("_reason")]
    assert len(reasons) == 5
    for key in reasons:
        if answers[key]:
            assert f"**The team's reason**: {answers[key]}" in decisions
    given = sum(1 for key in reasons if answers[key])
    assert decisions.count("The team gave no reason of its own") == 5 - given
