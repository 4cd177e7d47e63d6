"""The question bank: the Phase 9 questions and the job-type decision tree, loaded from YAML.

The YAML files next to this module are the one source of truth. This module only reads them into
frozen value objects and resolves what the YAML leaves implicit (a question's group, its inherited
``fills``, the options of shared choice lists).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

Kind = Literal[
    "text",
    "reason",
    "identifier",
    "int",
    "float",
    "bool",
    "choice",
    "multiselect",
    "identifier_list",
    "delay_list",
    "schedule_list",
    "broker_url",
    "timezone",
]

#: Cross-field rules a question may host; each is implemented in Python and in Jinja.
RuleName = Literal[
    "broker_scheme_fits_technology",
    "max_workers_at_least_worker_count",
    "scheduler_fits_backend",
    "scheduler_needed",
    "delays_needed_for_retries",
    "fixed_backoff_equal_delays",
    "retry_and_discard_disjoint",
    "manual_retry_needs_dlq",
    "p95_within_timeout",
    "tools_fit_backend",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Fill(BaseModel):
    """A spec section an answer fills."""

    model_config = _FROZEN

    doc: str  # path of the spec document in the generated project
    section: str  # heading of the section inside that document


class Option(BaseModel):
    """One option of a choice or multiselect question, with its trade-offs."""

    model_config = _FROZEN

    value: str  # the stored answer
    label: str  # what the user sees
    pros: str
    cons: str
    best_for: str
    backends: tuple[str, ...] = ()  # queue technologies it works with; empty = every one
    generated: Literal["subsystem", "spec_only"] | None = None  # queue technologies only
    spec_only_reason: str = ""  # queue technologies only: why only spec documents, one line
    url_schemes: tuple[str, ...] = ()  # queue technologies only: accepted broker URL prefixes
    default_broker_url: str | None = None  # queue technologies only
    native_scheduler: str | None = None  # queue technologies only: its own scheduler tool
    when: str = ""  # job types only: the situation that calls for it
    recommended: str = ""  # why this option is the recommended one; empty for the others

    @property
    def display(self) -> str:
        """The label as shown in prompts: marked when recommended or only spec documents exist."""
        if self.generated == "spec_only":
            return f"{self.label} (spec documents only)"
        if self.recommended:
            return f"{self.label} (recommended)"
        return self.label


class DefaultFrom(BaseModel):
    """A default computed from an earlier answer, so the default is always valid in context.

    Copier validates a default before showing it, so a default that broke a rule would stop the
    interactive session; each way of deriving one below keeps it within the rules.
    """

    model_config = _FROZEN

    key: str  # the earlier question whose answer the default derives from
    option_field: str | None = None  # take this field of the chosen option
    factor: int | None = None  # multiply the earlier (int) answer, capped at the question's max
    table: Mapping[str, Any] | None = None  # look the earlier answer up; `otherwise` if absent
    otherwise: Any = None
    copy_value: bool = False  # the earlier answer itself
    minus: bool = False  # the question's `default` list without the earlier answer's items
    at_most: bool = False  # the question's `default`, at most the earlier answer
    scheduler: bool = False  # the technology's scheduler when schedules need one, else none
    # Start from what the chosen job types suggest (decision_tree.yaml), not `default`; set by
    # the bank itself for every key a job type suggests.
    suggested: bool = False


class AskWhen(BaseModel):
    """Ask a question only when an earlier answer equals a value (or, with ``differs``, not)."""

    model_config = _FROZEN

    key: str
    equals: str | bool
    differs: bool = False  # ask when the earlier answer is anything but `equals`

    def holds(self, value: object) -> bool:
        """Return True when the question is asked for this earlier answer."""
        return (value != self.equals) if self.differs else (value == self.equals)


class JobType(BaseModel):
    """One branch of the job-type decision tree and the pattern it implies."""

    model_config = _FROZEN

    value: str
    label: str
    when: str  # the situation that calls for this job type
    pattern: str  # the design the job type implies
    example: str
    pros: str
    cons: str
    best_for: str
    suggests: Mapping[str, Any] = Field(default_factory=dict)  # answers recommend proposes

    def as_option(self) -> Option:
        """Return this job type as an option of the ``job_types`` question."""
        return Option(
            value=self.value,
            label=self.label,
            when=self.when,
            pros=self.pros,
            cons=self.cons,
            best_for=f"{self.best_for} Pattern: {self.pattern}",
        )


class Question(BaseModel):
    """One question: its answer key, kind, default, limits, options and the sections it fills."""

    model_config = _FROZEN

    key: str
    group: str  # id of the group it belongs to
    kind: Kind
    prompt: str
    help: str = ""
    default: Any = None
    default_from: DefaultFrom | None = None
    example: Any = None
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    hint: str = ""
    min_items: int = 0
    options: tuple[Option, ...] = ()
    rules: tuple[RuleName, ...] = ()
    ask_when: AskWhen | None = None
    fills: tuple[Fill, ...] = ()
    # A "use the recommended settings" question: the keys it covers (the rest of its group).
    # True means they all take their defaults; it defaults to true unless one of them is given.
    covers: tuple[str, ...] = ()
    covered_by: str | None = None  # the recommended-settings question that can skip this one

    @property
    def path(self) -> str:
        """The dotted path used in error messages: ``group.key``, or ``key`` when they match."""
        return self.key if self.group == self.key else f"{self.group}.{self.key}"

    @property
    def choices(self) -> tuple[str, ...]:
        """The option values, in order."""
        return tuple(option.value for option in self.options)

    def option(self, value: str) -> Option:
        """Return the option with this value."""
        for option in self.options:
            if option.value == value:
                return option
        raise KeyError(f"{self.key} has no option {value!r}")


class Group(BaseModel):
    """One group of questions (a Phase 9 question, or the project / job-type preamble)."""

    model_config = _FROZEN

    id: str
    title: str
    fills: tuple[Fill, ...]
    questions: tuple[Question, ...]
    # Open with "use the recommended settings for this part?"; its details are asked only if not.
    offer_recommended: bool = False


class DecisionTree(BaseModel):
    """The job-type decision tree."""

    model_config = _FROZEN

    question: str
    job_types: tuple[JobType, ...]

    @property
    def suggested_keys(self) -> tuple[str, ...]:
        """Every answer key some job type suggests a value for."""
        return tuple(dict.fromkeys(k for jt in self.job_types for k in jt.suggests))


class Bank(BaseModel):
    """The whole question bank, questions in the order they are asked."""

    model_config = _FROZEN

    version: int
    groups: tuple[Group, ...]
    decision_tree: DecisionTree

    @model_validator(mode="after")
    def _rules_read_only_earlier_questions(self) -> Bank:
        keys = [q.key for q in self.questions]
        if len(set(keys)) != len(keys):
            raise ValueError(f"question keys repeat: {keys}")
        for index, question in enumerate(self.questions):
            if question.kind in ("int", "float") and (question.min is None or question.max is None):
                raise ValueError(f"{question.key}: a number question needs both min and max")
            earlier = set(keys[:index])
            for source in (question.default_from, question.ask_when):
                if source is not None and source.key not in earlier:
                    raise ValueError(f"{question.key} depends on {source.key}, asked later")
        return self

    @cached_property
    def questions(self) -> tuple[Question, ...]:
        """Every question, in asking order."""
        return tuple(q for group in self.groups for q in group.questions)

    @cached_property
    def by_key(self) -> Mapping[str, Question]:
        """Questions by answer key."""
        return {q.key: q for q in self.questions}

    def question(self, key: str) -> Question:
        """Return the question with this answer key."""
        return self.by_key[key]

    @property
    def technologies(self) -> tuple[Option, ...]:
        """The queue technology options."""
        return self.question("queue_technology").options


def _recommended_question(
    group: Mapping[str, Any], questions: list[dict[str, Any]]
) -> dict[str, Any]:
    """Build a group's "use the recommended settings" question; mark the questions it covers."""
    key = f"{group['id']}_recommended"
    for item in questions:
        item["covered_by"] = key
    return {
        "key": key,
        "group": group["id"],
        "kind": "bool",
        "prompt": f"{group['title']}: use the recommended settings for this part?",
        "help": "Enter takes them all; n asks each one.",
        "default": True,
        "covers": [item["key"] for item in questions],
        "fills": [{"doc": "docs/specs/implementation_options_spec.md", "section": "Decisions"}],
    }


def _resolve(raw_questions: Mapping[str, Any], tree: Mapping[str, Any]) -> dict[str, Any]:
    """Turn the YAML documents into the shape of :class:`Bank`."""
    shared: dict[str, list[dict[str, Any]]] = {
        "error_kinds": list(raw_questions["error_kinds"]),
        "decision_tree": [
            JobType.model_validate(item).as_option().model_dump() for item in tree["job_types"]
        ],
    }
    groups = []
    for group in raw_questions["groups"]:
        questions = []
        for question in group["questions"]:
            item = dict(question)
            item["group"] = group["id"]
            item.setdefault("fills", group["fills"])
            source = item.pop("choices_from", None)
            if source is not None:
                item["options"] = shared[source]
            if any(item["key"] in jt.get("suggests", {}) for jt in tree["job_types"]):
                item["default_from"] = {"key": "job_types", **item.get("default_from", {})}
                item["default_from"]["suggested"] = True
            questions.append(item)
        if group.get("offer_recommended"):
            questions = [_recommended_question(group, questions), *questions]
        groups.append({**group, "questions": questions})
    return {"version": raw_questions["version"], "groups": groups, "decision_tree": tree}


def parse_bank(questions_yaml: str, decision_tree_yaml: str) -> Bank:
    """Build a :class:`Bank` from the text of the two YAML documents."""
    return Bank.model_validate(
        _resolve(yaml.safe_load(questions_yaml), yaml.safe_load(decision_tree_yaml))
    )


#: The bank's two YAML documents, in :func:`parse_bank`'s order, in the package folder.
BANK_FILES = ("questions.yaml", "decision_tree.yaml")


def load_bank() -> Bank:
    """Load the bank shipped with the package (``questions.yaml`` and ``decision_tree.yaml``)."""
    package = resources.files("jobforge.questionnaire")
    questions, tree = (package.joinpath(name).read_text(encoding="utf-8") for name in BANK_FILES)
    return parse_bank(questions, tree)


def joined(items: list[str] | tuple[str, ...], last: str = "or") -> str:
    """Join words as ``a, b or c``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def suitable_schedulers(bank: Bank, technology: str) -> tuple[str, ...]:
    """Scheduler tools that work with a queue technology, in bank order (never ``none``)."""
    return tuple(
        option.value
        for option in bank.question("scheduler_tool").options
        if option.value != "none" and (not option.backends or technology in option.backends)
    )


def default_scheduler(bank: Bank, technology: str) -> str:
    """Return the scheduler tool proposed for a technology: its own, else APScheduler."""
    native = bank.question("queue_technology").option(technology).native_scheduler
    return native if native and native != "none" else "apscheduler"
