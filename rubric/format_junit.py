"""JUnit XML: one test suite per dimension and one test case per check, for CI dashboards.

``fail`` becomes a ``<failure>``, ``inconclusive`` an ``<error>`` (the run could not decide),
``unsupported`` a ``<skipped>`` whose message says it scores as not met, and ``not_run`` a
``<skipped>`` saying the run did not select it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from .model import Rubric
from .outcomes import CheckOutcome, Outcome
from .results import RunResults
from .scoring import DimensionScore, Scorecard

# Characters XML 1.0 cannot carry, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\N{REPLACEMENT CHARACTER}", text)


def _message(outcome: CheckOutcome) -> str:
    first = outcome.evidence[0] if outcome.evidence else "no evidence recorded"
    return _clean(f"{outcome.outcome}: {first}")


def _testcase(outcome: CheckOutcome, dimension: str, rubric: Rubric) -> ET.Element:
    check = rubric.check(outcome.check_id)
    case = ET.Element(
        "testcase",
        classname=f"jobforge.rubric.{dimension}",
        name=outcome.check_id,
        time=f"{outcome.duration_s:.3f}",
    )
    body = "\n".join(outcome.evidence)
    detail = _clean(f"{check.title}\n{body}\n\nFix: {check.remediation}".strip())
    if outcome.outcome is Outcome.FAIL:
        ET.SubElement(case, "failure", message=_message(outcome), type="fail").text = detail
    elif outcome.outcome is Outcome.INCONCLUSIVE:
        ET.SubElement(case, "error", message=_message(outcome), type="inconclusive").text = detail
    elif outcome.outcome is Outcome.UNSUPPORTED:
        ET.SubElement(
            case, "skipped", message=_clean(f"unsupported, scores as not met: {check.remediation}")
        )
    elif outcome.outcome is Outcome.NOT_RUN:
        ET.SubElement(case, "skipped", message="not run: this run did not select the check")
    if body:
        ET.SubElement(case, "system-out").text = _clean(body)
    return case


def _counts(dims: tuple[DimensionScore, ...]) -> dict[str, str]:
    outcomes = [o.outcome for d in dims for o in d.outcomes]
    return {
        "tests": str(len(outcomes)),
        "failures": str(outcomes.count(Outcome.FAIL)),
        "errors": str(outcomes.count(Outcome.INCONCLUSIVE)),
        "skipped": str(outcomes.count(Outcome.UNSUPPORTED) + outcomes.count(Outcome.NOT_RUN)),
    }


def render_junit(results: RunResults, card: Scorecard, rubric: Rubric) -> str:
    """Render the run as JUnit XML."""
    root = ET.Element(
        "testsuites",
        {
            "name": f"jobforge rubric {card.rubric_version}: {results.implementation.name}",
            "time": f"{results.duration_s:.3f}",
            **_counts(card.dimensions),
        },
    )
    stamp = results.started_at.isoformat(timespec="seconds")
    for dim in card.dimensions:
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": f"jobforge.rubric.{dim.dimension}",
                "timestamp": stamp,
                "time": f"{results.dimension_durations_s.get(dim.dimension, 0.0):.3f}",
                **_counts((dim,)),
            },
        )
        props = ET.SubElement(suite, "properties")
        for name, value in (
            ("dimension", dim.title),
            ("level", dim.display if dim.ran else "not run"),
            ("total", card.total_display),
            ("band", card.verdict),
            ("implementation", results.implementation.name),
            ("backend", results.implementation.backend),
        ):
            ET.SubElement(props, "property", name=name, value=_clean(value))
        suite.extend(_testcase(o, dim.dimension, rubric) for o in dim.outcomes)
    ET.indent(root)
    xml = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{xml}\n'
