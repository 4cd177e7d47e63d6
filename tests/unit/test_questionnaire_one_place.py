"""Each rule's numbers and each rule's implementation live in one place.

The question bank (``questionnaire/questions.yaml``) is the only hand-written file that states a
number question's limits or a derived default's factor; the checks and rules are implemented
only as the Jinja of :mod:`jobforge.questionnaire.jinja_checks`. These tests grep every file git
tracks for copies. Two kinds of file repeat the numbers and are not copies: ``copier.yml``, which
``copier_gen`` generates from the bank (a test fails when it is stale), and the recorded outputs
``examples/answers/invalid/*.expected``, which tests compare with what ``answers check`` prints.
Tests are left out too: they state the expected messages on purpose.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import typing
from pathlib import Path

import pytest
from jobforge.questionnaire import load_bank
from jobforge.questionnaire.bank import Question, RuleName
from jobforge.questionnaire.checks import number

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
BANK = load_bank()
THE_PLACE = "questionnaire/questions.yaml"
GENERATED = ("copier.yml",)
TEXT = (".py", ".md", ".yml", ".yaml", ".jinja", ".toml", ".json", ".txt", ".cfg", ".sh")


def _tracked() -> dict[str, str]:
    """Every text file git tracks, outside tests and the generated or recorded outputs."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to list the tracked files")
    listed = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return {
        name: (REPO / name).read_text(encoding="utf-8", errors="replace")
        for name in listed
        if name.endswith(TEXT)
        and not name.startswith("tests/")
        and name not in GENERATED
        and (REPO / name).is_file()
    }


FILES = _tracked() if (REPO / ".git").exists() else {}
NUMBER_QUESTIONS = [q for q in BANK.questions if q.min is not None and q.max is not None]


def _literal(text: str) -> str:
    return rf"(?<![\w.]){re.escape(text)}(?![\w.])"


def _places(patterns: list[re.Pattern[str]]) -> list[str]:
    return sorted(
        f"{name}:{number_}"
        for name, text in FILES.items()
        for number_, line in enumerate(text.splitlines(), 1)
        if any(pattern.search(line) for pattern in patterns)
    )


def _files_with(pattern: re.Pattern[str]) -> set[str]:
    return {name for name, text in FILES.items() if pattern.search(text)}


def _limit_patterns(question: Question) -> list[re.Pattern[str]]:
    low, high = _literal(number(question.min)), _literal(number(question.max))
    return [
        # the range written out: 1..64, 1 to 64, between 1 and 64, [1, 64]
        re.compile(rf"{low}\s*(?:\.\.|\u2013|to|and)\s*{high}|\[\s*{low}\s*,\s*{high}\s*\]"),
        # the question named close to its upper limit: worker_count (at most 64)
        re.compile(rf"\b{question.key}\b.{{0,40}}{high}|{high}.{{0,40}}\b{question.key}\b"),
    ]


@pytest.mark.parametrize("question", NUMBER_QUESTIONS, ids=lambda q: q.key)
def test_a_number_questions_limits_are_written_only_in_the_bank(question: Question) -> None:
    high = _literal(number(question.max))
    # The key, then within a few lines its upper limit as a setting: max: 64, "maximum": 64, le=64
    setting = re.compile(
        rf"\b{question.key}\b(?:[^\n]*\n){{0,12}}?[^\n]*\b(?:max|maximum|le)\W{{0,3}}\s*{high}"
    )
    assert _files_with(setting) == {THE_PLACE}, question.key
    outside = [p for p in _places(_limit_patterns(question)) if not p.startswith(THE_PLACE)]
    assert outside == [], f"{question.key}: its limits are copied at {outside}"


def test_a_derived_defaults_factor_is_written_only_in_the_bank() -> None:
    for question in BANK.questions:
        source = question.default_from
        if source is None or source.factor is None:
            continue
        factor = _literal(str(source.factor))
        written = re.compile(rf"{factor}\s*(?:x|\*|\u00d7|times)\s*`?{source.key}\b")
        assert _places([written]) == [], question.key
        setting = re.compile(rf"key: {source.key}, factor: {factor}")
        assert _files_with(setting) == {THE_PLACE}, question.key


def test_each_rule_is_implemented_only_in_the_jinja_checks() -> None:
    """A rule's name appears in the bank, its type and its one implementation; nowhere else."""
    allowed = {
        THE_PLACE,  # the question hosting it
        "questionnaire/bank.py",  # RuleName, the type of the bank's rule names
        "questionnaire/jinja_checks.py",  # the implementation
    }
    for name in typing.get_args(RuleName):
        places = {place.split(":")[0] for place in _places([re.compile(rf"\b{name}\b")])}
        python = {place for place in places if place.endswith(".py")}
        assert python <= allowed, (name, sorted(python - allowed))
        assert "questionnaire/jinja_checks.py" in places, name
