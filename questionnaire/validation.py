"""Validate answers from a mapping or a YAML file, reporting every problem as AnswersError."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from jobforge.errors import AnswersError
from jobforge.files import read_text_file

from .bank import Bank
from .checks import show
from .model import ANSWERS_ERROR_TYPE, Answers, default_bank

#: The fix offered when a path given as an answers file is not one.
ANSWERS_EXAMPLE = (
    "a YAML answers file such as examples/answers/sqlite.yml or one written by jobforge recommend"
)


def _messages(error: ValidationError, bank: Bank) -> list[str]:
    messages: list[str] = []
    for item in error.errors():
        context = item.get("ctx") or {}
        if item["type"] == ANSWERS_ERROR_TYPE:
            messages.extend(str(line) for line in context["problems"])
            continue
        # A type the bank's checks let through: still name the field, value and fix.
        loc = [str(part) for part in item["loc"]]
        key = loc[0] if loc else "answers"
        where = ".".join(loc) or key
        if key in bank.by_key:
            where = bank.by_key[key].path + where[len(key) :]
        messages.append(
            f"{where}: {show(item.get('input'))} is invalid "
            f"({item['msg']}); see the question's help in copier.yml"
        )
    return messages


def validate_answers(data: object, bank: Bank | None = None) -> Answers:
    """Return the answers as :class:`Answers`, or raise AnswersError listing every error."""
    bank = bank or default_bank()
    try:
        return Answers.model_validate(data, context={"bank": bank})
    except ValidationError as exc:
        raise AnswersError(_messages(exc, bank)) from None


def answer_errors(data: object, bank: Bank | None = None) -> list[str]:
    """Every problem with the answers; empty when they are valid."""
    try:
        validate_answers(data, bank)
    except AnswersError as exc:
        return exc.errors
    return []


def read_answers_file(path: Path) -> object:
    """Read an answers file as YAML; a syntax error becomes an :class:`AnswersError`."""
    text = read_text_file(path, "answers file", ANSWERS_EXAMPLE)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid syntax"
        raise AnswersError(
            [f"answers file: not valid YAML{where} ({problem}); fix the syntax and check again"]
        ) from None
    if data is None:
        raise AnswersError(
            [
                "answers file: it holds no answers (empty, or comments only); write one "
                "'key: value' line per answer, e.g. 'queue_technology: sqlite', or start from "
                "`jobforge recommend --job-type immediate`"
            ]
        )
    return data


def load_answers(path: Path, bank: Bank | None = None) -> Answers:
    """Read and validate an answers file (copier's ``.copier-answers.jobs.yml`` works too)."""
    return validate_answers(read_answers_file(path), bank)
