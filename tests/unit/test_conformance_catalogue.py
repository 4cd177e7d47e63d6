"""``jobforge checks`` prints the check catalogue: id, dimension, what to declare, how to fix."""

from __future__ import annotations

import pytest
from jobforge.conformance.catalogue import DECLARED_FACTS, entries, render
from jobforge.conformance.checks import registry
from jobforge.rubric.model import load_rubric

from jobforge.cli import main

pytestmark = pytest.mark.unit


def test_every_check_is_listed_with_its_dimension_needs_and_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["checks"]) == 0
    out = capsys.readouterr().out
    rubric = load_rubric()
    for check_id in registry():
        assert f"{check_id}  [" in out
    backoff = out[out.index("error_handling.backoff  [") :].split("\n\n")[0]
    assert "[Error handling, level 3]" in backoff
    assert "capability backoff" in backoff and "timing_facts" in backoff
    assert " ".join(rubric.check("error_handling.backoff").remediation.split()[:6]) in " ".join(
        backoff.split()
    )


def test_a_dimension_narrows_the_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks", "scheduling"]) == 0
    out = capsys.readouterr().out
    assert "scheduling.on_time  [" in out and "idempotency." not in out


def test_an_unknown_name_is_a_usage_error_pointing_at_the_list(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["checks", "scheduling.nope"]) == 2
    assert "scheduling.nope: no such check id or dimension" in capsys.readouterr().err


def test_declared_facts_name_only_registered_checks() -> None:
    assert set(DECLARED_FACTS) <= set(registry())


def test_lines_are_wrapped_to_the_width() -> None:
    text = render(entries(load_rubric()), width=60)
    assert max(len(line) for line in text.splitlines()) <= 60
