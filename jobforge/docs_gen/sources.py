"""What the page generators need from the other parts of jobforge, and how they load it.

The question bank, the rubric and the adapter contract live in sibling parts of the one jobforge
distribution. The generators depend only on the small read-only shapes below (structural
Protocols), and the loaders import the parts when a page is built, so this module stays
importable and type-checkable on its own.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, cast


class FillLike(Protocol):
    """A spec section an answer fills."""

    @property
    def doc(self) -> str:
        """Path of the generated document."""

    @property
    def section(self) -> str:
        """Heading of the section."""


class OptionLike(Protocol):
    """One option of a question."""

    @property
    def value(self) -> str:
        """The stored answer."""

    @property
    def label(self) -> str:
        """What the user sees."""

    @property
    def pros(self) -> str:
        """Why choose it."""

    @property
    def cons(self) -> str:
        """What it costs."""

    @property
    def best_for(self) -> str:
        """Where it fits best."""

    @property
    def backends(self) -> Sequence[str]:
        """Queue technologies it works with; empty means every one."""

    @property
    def generated(self) -> str | None:
        """For queue technologies: ``subsystem`` or ``spec_only``."""

    @property
    def spec_only_reason(self) -> str:
        """For spec-only queue technologies: why no subsystem is generated, one line."""


class SourceLike(Protocol):
    """Where a question's default comes from."""

    @property
    def key(self) -> str:
        """The earlier answer."""

    @property
    def option_field(self) -> str | None:
        """A field of the chosen option, if any."""

    @property
    def factor(self) -> int | None:
        """A multiplier of the earlier answer, if any."""


class ConditionLike(Protocol):
    """When a question is asked."""

    @property
    def key(self) -> str:
        """The answer it depends on."""

    @property
    def equals(self) -> str:
        """The value that makes it asked."""


class QuestionLike(Protocol):
    """One question of the bank."""

    @property
    def key(self) -> str:
        """The answer key."""

    @property
    def kind(self) -> str:
        """The kind of answer (int, choice, multiselect, ...)."""

    @property
    def prompt(self) -> str:
        """The question as asked."""

    @property
    def help(self) -> str:
        """Longer help text."""

    @property
    def default(self) -> object:
        """The default answer."""

    @property
    def default_from(self) -> SourceLike | None:
        """A default derived from an earlier answer."""

    @property
    def min(self) -> float | None:
        """Lower bound."""

    @property
    def max(self) -> float | None:
        """Upper bound."""

    @property
    def min_exclusive(self) -> bool:
        """Whether the lower bound itself is excluded."""

    @property
    def min_items(self) -> int:
        """Fewest items of a list answer."""

    @property
    def options(self) -> Sequence[OptionLike]:
        """The options of a choice or multiselect."""

    @property
    def rules(self) -> Sequence[str]:
        """Cross-field rules checked with this question."""

    @property
    def ask_when(self) -> ConditionLike | None:
        """When the question is asked; None means always."""

    @property
    def fills(self) -> Sequence[FillLike]:
        """Sections of the generated specs the answer fills."""


class GroupLike(Protocol):
    """A group of questions (one Phase 9 question, or the project)."""

    @property
    def title(self) -> str:
        """The group's title."""

    @property
    def questions(self) -> Sequence[QuestionLike]:
        """Its questions in order."""


class JobTypeLike(Protocol):
    """One job type of the decision tree."""

    @property
    def value(self) -> str:
        """The stored answer."""

    @property
    def label(self) -> str:
        """Its name."""

    @property
    def when(self) -> str:
        """When to choose it."""

    @property
    def pattern(self) -> str:
        """The design it implies."""

    @property
    def example(self) -> str:
        """An example."""


class DecisionTreeLike(Protocol):
    """The job-type decision tree."""

    @property
    def question(self) -> str:
        """The question asked."""

    @property
    def job_types(self) -> Sequence[JobTypeLike]:
        """The job types."""


class BankLike(Protocol):
    """The question bank."""

    @property
    def groups(self) -> Sequence[GroupLike]:
        """Groups in the order asked."""

    @property
    def decision_tree(self) -> DecisionTreeLike:
        """The job-type decision tree."""

    @property
    def questions(self) -> Sequence[QuestionLike]:
        """Every question in order."""


class CheckLike(Protocol):
    """One check of the rubric."""

    @property
    def id(self) -> str:
        """Stable id ``dimension.check``."""

    @property
    def title(self) -> str:
        """Short name."""

    @property
    def verifies(self) -> str:
        """What a pass proves."""

    @property
    def remediation(self) -> str:
        """How to fix a failure."""


class LevelLike(Protocol):
    """One level of a dimension."""

    @property
    def requires(self) -> Sequence[str]:
        """Check ids that must pass."""


class DimensionLike(Protocol):
    """One dimension of the rubric."""

    @property
    def title(self) -> str:
        """Its title."""

    @property
    def question(self) -> str:
        """The question it answers."""

    @property
    def checks(self) -> Sequence[CheckLike]:
        """Its checks."""

    def level(self, points: int) -> LevelLike:
        """Return the level worth ``points``."""


class RubricLike(Protocol):
    """The rubric."""

    @property
    def dimensions(self) -> Sequence[DimensionLike]:
        """The seven dimensions."""


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


def parse_bank(questions_yaml: str, decision_tree_yaml: str) -> BankLike:
    """Parse the question bank with the questionnaire's own parser."""
    parse: Any = _module("jobforge.questionnaire.bank").parse_bank
    return cast(BankLike, parse(questions_yaml, decision_tree_yaml))


def load_rubric(path: Path) -> RubricLike:
    """Load and validate the rubric with the rubric's own loader."""
    load: Any = _module("jobforge.rubric.model").load_rubric
    return cast(RubricLike, load(path))


def rubric_markdown(rubric: RubricLike) -> str:
    """Render the rubric page with the rubric part's own renderer."""
    render: Any = _module("jobforge.rubric.docs").rubric_markdown
    return str(render(rubric))


def check_descriptions() -> dict[str, str]:
    """Return how the conformance kit runs each check, from its check registry.

    The registry is ``jobforge.conformance.checks.registry()``: a mapping of check id to a check,
    or a sequence of checks carrying ``check_id`` (or ``id``). A check's description is the first
    paragraph of the docstring of its ``run`` function (else of the check), followed by the
    capabilities it ``requires``. Returns an empty mapping while the kit has no registry.
    """
    name = "jobforge.conformance.checks"
    try:
        module: Any = _module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return {}
    registry: Any = module.registry()
    if isinstance(registry, Mapping):
        entries = list(registry.items())
    else:
        entries = [(getattr(c, "check_id", None) or getattr(c, "id", None), c) for c in registry]
    found: dict[str, str] = {}
    for check_id, check in entries:
        text = (inspect.getdoc(getattr(check, "run", check)) or "").split("\n\n")[0]
        needs = [str(getattr(c, "value", c)) for c in getattr(check, "requires", ())]
        if needs:
            text += " Needs " + ", ".join(f"`{n}`" for n in needs) + "."
        if check_id and text:
            found[str(check_id)] = " ".join(text.split())
    return found


def adapter_module() -> ModuleType:
    """Return the conformance kit's adapter contract module."""
    return _module("jobforge.conformance.adapter")
