"""The hypothesis state machine finds nothing wrong with the clean reference and catches flaws."""

from __future__ import annotations

import os

import pytest
from jobforge.conformance.machine import run_conformance_machine
from jobforge.conformance.reference import ReferenceAdapter

pytestmark = pytest.mark.unit

EXAMPLES = 40 if os.environ.get("HYPOTHESIS_PROFILE") == "stress" else 4


def test_clean_reference_keeps_every_invariant() -> None:
    run_conformance_machine(ReferenceAdapter, max_examples=EXAMPLES)


@pytest.mark.parametrize(
    ("flaw", "finding"),
    [
        ("no_idempotency", r"applied \d+ times, expected once"),
        ("loses_jobs_on_kill", "after the drain"),
    ],
)
def test_machine_catches_a_flaw(flaw: str, finding: str) -> None:
    with pytest.raises(AssertionError, match=finding):
        run_conformance_machine(
            lambda: ReferenceAdapter({flaw}), max_examples=30, steps=10, shrink=False
        )
