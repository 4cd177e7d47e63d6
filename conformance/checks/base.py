"""What a check is: an id from the rubric, what it needs, and a function from Env to a verdict."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from jobforge.rubric.outcomes import Outcome

from ..adapter import Capability
from ..env import Env, ImplementationFault


@dataclass(frozen=True)
class Verdict:
    """A check's outcome and the evidence behind it, before the runner times it."""

    outcome: Outcome
    evidence: tuple[str, ...] = ()


def passed(*evidence: str) -> Verdict:
    """Return a pass: the check saw the property hold."""
    return Verdict(Outcome.PASS, evidence)


def failed(*evidence: str) -> Verdict:
    """Return a fail: the property broke (evidence names job, expected, observed)."""
    return Verdict(Outcome.FAIL, evidence)


def inconclusive(*evidence: str) -> Verdict:
    """Inconclusive: the kit could not observe either way (never scores)."""
    return Verdict(Outcome.INCONCLUSIVE, evidence)


def unsupported(*evidence: str) -> Verdict:
    """Unsupported: the implementation does not declare what the check needs."""
    return Verdict(Outcome.UNSUPPORTED, evidence)


def judge(findings: Iterable[str], *observed: str) -> Verdict:
    """Fail with ``findings`` when there are any, else pass with what was ``observed``."""
    found = tuple(findings)
    return failed(*found) if found else passed(*observed)


@dataclass(frozen=True)
class Check:
    """One rubric check: ``run`` drives the implementation through ``env`` and judges it."""

    check_id: str
    title: str
    run: Callable[[Env], Verdict]
    requires: tuple[Capability, ...] = ()
    workers: int = 2  # live workers the runner provides before the check starts
    budget_s: float = 60.0  # the check fails (the implementation hung) after this long

    @property
    def dimension(self) -> str:
        """The dimension id, the part of the check id before the dot."""
        return self.check_id.split(".", 1)[0]


def require_job_type(env: Env, name: str) -> None:
    """Fail the check unless the implementation registered probe job type ``name``."""
    try:
        env.description.job(name)
    except KeyError as exc:
        raise ImplementationFault(
            f"{exc.args[0]}; register every type of jobforge.conformance.probes.probe_catalogue()"
        ) from None
