"""Messages at ``jobforge new``'s prompts: answers check's lines, wrapped at spaces."""

from __future__ import annotations

import pytest
from jobforge.questionnaire import answer_errors, load_bank
from jobforge.questionnaire.prompting import (
    COPIER_INVALID,
    speaking_validator,
    unparsable_message,
    wrap_message,
)

pytestmark = pytest.mark.unit

BANK = load_bank()


@pytest.mark.parametrize("columns", [40, 80, 200])
def test_a_wrapped_message_keeps_every_word_and_stays_off_the_edge(columns: int) -> None:
    (message,) = answer_errors({"broker_url": "http://x", "queue_technology": "redis"}, BANK)
    lines = wrap_message(message, columns).splitlines()
    assert all(len(line) <= min(76, columns - 2) for line in lines)
    assert " ".join(line.strip() for line in lines) == message


@pytest.mark.parametrize(
    ("key", "text"), [("worker_count", "abc"), ("worker_cpu_limit", "x"), ("queues", "[default")]
)
def test_text_copier_cannot_parse_gets_the_answers_check_line(key: str, text: str) -> None:
    (expected,) = answer_errors({key: text}, BANK)
    assert unparsable_message(BANK, BANK.question(key), text) == expected


def test_yaml_copier_reads_differently_still_names_field_value_and_fix() -> None:
    message = unparsable_message(BANK, BANK.question("worker_count"), "0x10")
    assert message.startswith("worker_architecture.worker_count: '0x10' ")
    assert "write it in digits" in message


def test_the_validator_drops_copiers_prefix_and_replaces_invalid_input() -> None:
    question = BANK.question("worker_count")
    verdicts = {
        "0": "Validation error for question 'worker_count': worker_architecture.worker_count: x",
        "abc": COPIER_INVALID,
        "2": True,
    }
    check = speaking_validator(BANK, question, verdicts.__getitem__)
    assert check("0") == "worker_architecture.worker_count: x"
    expected = unparsable_message(BANK, question, "abc")
    assert " ".join(str(check("abc")).split()) == expected  # wrapped to the terminal
    assert check("2") is True
