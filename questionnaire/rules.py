"""Cross-field rules: checks that read more than one answer.

Each rule is hosted by the question named in the bank's ``rules`` list and reads only that answer
and answers asked before it, so copier can evaluate it while the user answers. A rule runs only
when every answer it reads passed its own field-level check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .bank import Bank, Question, RuleName


@dataclass(frozen=True)
class Rule:
    """A cross-field rule: the answers it reads besides its host, and the check itself."""

    reads: tuple[str, ...]
    check: Callable[[Bank, Question, Mapping[str, Any]], list[str]]


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


def _broker_scheme(bank: Bank, q: Question, a: Mapping[str, Any]) -> list[str]:
    url, technology = (
        a["broker_url"],
        bank.question("queue_technology").option(a["queue_technology"]),
    )
    schemes = technology.url_schemes
    if any(url.startswith(scheme) and len(url) > len(scheme) for scheme in schemes):
        return []
    return [
        f"'{url}' does not fit queue_technology {technology.value} ({technology.label}); use a "
        f"URL starting with {joined(schemes)}, e.g. {technology.default_broker_url}"
    ]


def _max_workers(bank: Bank, q: Question, a: Mapping[str, Any]) -> list[str]:
    if a["max_workers"] >= a["worker_count"]:
        return []
    return [
        f"{a['max_workers']} is below worker_count {a['worker_count']}; set max_workers to at "
        f"least {a['worker_count']}"
    ]


def _scheduler_fits(bank: Bank, q: Question, a: Mapping[str, Any]) -> list[str]:
    tool = q.option(a["scheduler_tool"])
    technology = a["queue_technology"]
    if not tool.backends or technology in tool.backends:
        return []
    return [
        f"{tool.value} works only with queue_technology {joined(tool.backends)}, not "
        f"{technology}; choose {joined(suitable_schedulers(bank, technology))}"
    ]


def _scheduler_needed(bank: Bank, q: Question, a: Mapping[str, Any]) -> list[str]:
    if a["scheduler_tool"] != "none":
        return []
    count = len(a["schedules"])
    if count > 0:
        needing = f"{count} schedule{'' if count == 1 else 's'}"
    elif "scheduled" in a["job_types"]:
        needing = "the scheduled job type"
    else:
        return []
    choices = joined(suitable_schedulers(bank, a["queue_technology"]))
    return [f"none leaves {needing} without a scheduler; choose {choices}"]


def _delays_needed(bank: Bank, q: Question, a: Mapping[str, Any]) -> list[str]:
    if a["max_retries"] > 0 and len(a["backoff_delays_seconds"]) == 0:
        return [
            f"the list is empty but max_retries is {a['max_retries']}; give at least one "
            "delay, e.g. [60, 300, 900], or set max_retries to 0"
        ]
    return []


def _fixed_equal(bank: Bank, q: Question, a: Mapping[str, Any]) -> list[str]:
    delays = a["backoff_delays_seconds"]
    if a["backoff_strategy"] == "fixed" and len(set(delays)) > 1:
        return [
            f"{delays} differ but backoff_strategy is fixed; use one delay such as "
            f"[{delays[0]}], or choose exponential"
        ]
    return []


def _disjoint(bank: Bank, q: Question, a: Mapping[str, Any]) -> list[str]:
    both = [kind for kind in a["discard_on"] if kind in a["retry_on"]]
    if not both:
        return []
    return [
        f"{joined(both, 'and')} {'is' if len(both) == 1 else 'are'} in both retry_on and "
        "discard_on; an error kind is either retried or discarded, remove it from one list"
    ]


def _manual_retry(bank: Bank, q: Question, a: Mapping[str, Any]) -> list[str]:
    if a["manual_retry"] and not a["dead_letter_queue"]:
        return [
            "true needs a dead-letter queue to replay from; set dead_letter_queue to true or "
            "manual_retry to false"
        ]
    return []


def _p95(bank: Bank, q: Question, a: Mapping[str, Any]) -> list[str]:
    p95, timeout = a["duration_p95_alert_seconds"], a["job_timeout_seconds"]
    if p95 <= timeout:
        return []
    return [
        f"{p95} exceeds job_timeout_seconds {timeout}, so the alert could never fire; set it to "
        f"at most {timeout}"
    ]


def _tools_fit(bank: Bank, q: Question, a: Mapping[str, Any]) -> list[str]:
    technology = a["queue_technology"]
    return [
        f"{tool.value} works only with queue_technology {joined(tool.backends)}, not "
        f"{technology}; remove it"
        for tool in (q.option(value) for value in a["monitoring_tools"])
        if tool.backends and technology not in tool.backends
    ]


RULES: Mapping[RuleName, Rule] = {
    "broker_scheme_fits_technology": Rule(("queue_technology",), _broker_scheme),
    "max_workers_at_least_worker_count": Rule(("worker_count",), _max_workers),
    "scheduler_fits_backend": Rule(("queue_technology",), _scheduler_fits),
    "scheduler_needed": Rule(("queue_technology", "schedules", "job_types"), _scheduler_needed),
    "delays_needed_for_retries": Rule(("max_retries",), _delays_needed),
    "fixed_backoff_equal_delays": Rule(("backoff_strategy",), _fixed_equal),
    "retry_and_discard_disjoint": Rule(("retry_on",), _disjoint),
    "manual_retry_needs_dlq": Rule(("dead_letter_queue",), _manual_retry),
    "p95_within_timeout": Rule(("job_timeout_seconds",), _p95),
    "tools_fit_backend": Rule(("queue_technology",), _tools_fit),
}
