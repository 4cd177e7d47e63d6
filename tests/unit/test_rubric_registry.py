"""The rubric and the conformance kit know exactly the same check ids.

The kit's registry (``jobforge.conformance.checks.registry()``, check id -> check) is the source
of truth once it exists; until then the ids listed in ``docs/dev/contracts.md`` section 2 stand in.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest
from jobforge.rubric.model import load_rubric

pytestmark = pytest.mark.unit

CONTRACTS = Path(__file__).parents[2] / "docs" / "dev" / "contracts.md"
KIT_CHECKS = "jobforge.conformance.checks"


def contract_check_ids() -> frozenset[str]:
    """Parse the check ids listed in contracts section 2 (before its level rules)."""
    text = CONTRACTS.read_text("utf-8")
    start = text.index("## 2. Rubric check ids")
    section = text[start : text.index("Levels:", start)]
    # The ids sit in the bullet list ("- dimension: `id`, ...") and its indented continuations.
    listed = [line for line in section.splitlines() if line.startswith(("- ", "  "))]
    return frozenset(re.findall(r"`([a-z_]+\.[a-z_]+)`", "\n".join(listed)))


def kit_check_ids() -> tuple[str, frozenset[str]]:
    """Return where the ids came from and the ids: the kit's registry when the kit exists."""
    if importlib.util.find_spec(KIT_CHECKS) is None:
        return "docs/dev/contracts.md section 2", contract_check_ids()
    module = importlib.import_module(KIT_CHECKS)
    registry = getattr(module, "registry", None)
    assert callable(registry), f"{KIT_CHECKS} exists but has no registry() function"
    return f"{KIT_CHECKS}.registry()", frozenset(registry())


def test_contract_lists_39_check_ids_across_the_seven_dimensions() -> None:
    ids = contract_check_ids()
    assert len(ids) == 39
    assert {i.split(".")[0] for i in ids} == {d.id for d in load_rubric().dimensions}


def test_rubric_check_ids_are_exactly_the_contract_ids() -> None:
    rubric_ids = load_rubric().check_ids()
    contract = contract_check_ids()
    assert rubric_ids == contract, (
        f"only in rubric: {sorted(rubric_ids - contract)}; "
        f"only in contracts: {sorted(contract - rubric_ids)}"
    )


def test_every_rubric_check_is_implemented_by_the_kit_and_every_kit_check_is_scored() -> None:
    source, kit = kit_check_ids()
    rubric_ids = load_rubric().check_ids()
    assert not rubric_ids - kit, f"rubric checks with no implementation in {source}: " + str(
        sorted(rubric_ids - kit)
    )
    assert not kit - rubric_ids, f"checks in {source} missing from the rubric: " + str(
        sorted(kit - rubric_ids)
    )
