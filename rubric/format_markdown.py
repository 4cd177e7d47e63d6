"""Markdown for a pull-request comment: the score table, then every check that did not pass."""

from __future__ import annotations

import html

from .model import Rubric
from .outcomes import CheckOutcome
from .results import RunResults
from .scoring import Scorecard

#: Evidence lines shown per check; GitHub comments are limited to 65,536 characters.
EVIDENCE_LINES = 20


def _cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def _icon(card: Scorecard) -> str:
    if card.gates_failed:
        return "❌"
    if not card.has_band:
        return "❔"
    return {"production_grade": "✅", "needs_reliability_work": "⚠️"}.get(card.band.id, "❌")


def _details(outcome: CheckOutcome, rubric: Rubric) -> list[str]:
    check = rubric.check(outcome.check_id)
    gate = " (gate: costs no points, fails any policy)" if check.gate else ""
    lines = [
        "<details>",
        f"<summary><code>{outcome.check_id}</code> — {html.escape(check.title)}: "
        f"<b>{outcome.outcome.label}{gate}</b></summary>",
        "",
        f"{_cell(check.verifies)}",
        "",
    ]
    shown = outcome.evidence[:EVIDENCE_LINES]
    if shown:
        lines.append("Evidence:")
        lines.append("")
        lines.extend(f"- {_cell(line)}" for line in shown)
        if len(outcome.evidence) > len(shown):
            lines.append(f"- … {len(outcome.evidence) - len(shown)} more in the JSON results")
        lines.append("")
    lines += [f"**Fix:** {_cell(check.remediation)}", "", "</details>", ""]
    return lines


def render_markdown(results: RunResults, card: Scorecard, rubric: Rubric) -> str:
    """Render the run as GitHub-flavoured Markdown."""
    impl = results.implementation
    verdict = card.verdict if card.band_decided or card.partial else f"{card.verdict} (undecided)"
    out = [
        f"## {_icon(card)} jobforge rubric: {card.total_display} — {verdict}",
        "",
        f"**{_cell(impl.name)}** {_cell(impl.version)} on `{_cell(impl.backend)}` · "
        f"rubric {card.rubric_version} · profile `{_cell(results.profile)}` · "
        f"started {results.started_at.isoformat(timespec='seconds')} · "
        f"{results.duration_s:.1f} s",
        "",
        "| Dimension | Score | Level | Not passed |",
        "| --- | ---: | --- | --- |",
    ]
    for dim in card.dimensions:
        d = rubric.dimension(dim.dimension)
        if not dim.ran:
            out.append(f"| {dim.title} | not run | not selected in this run | — |")
            continue
        if dim.level is None:
            level = f"undecided: at least “{d.level(dim.lower_bound).summary}”"
        else:
            level = d.level(dim.level).summary
        bad = ", ".join(
            f"`{o.check_id}` ({o.outcome.label}{', gate' if o in dim.gates_failed else ''})"
            for o in (*dim.failing, *dim.gates_failed, *dim.inconclusive)
        )
        out.append(f"| {dim.title} | {dim.display}/5 | {_cell(level)} | {bad or '—'} |")
    out.append(f"| **Total** | **{card.total_display}** | {verdict} | |")
    out.append("")
    if card.partial:
        out += [
            f"> **Partial run.** The total covers only the {len(card.dimensions_run)} "
            "dimension(s) that ran; the others were not run and have no score.",
            "",
        ]
    if card.gates_failed:
        out += [
            "> **Failed gate:** "
            + ", ".join(f"`{o.check_id}`" for o in card.gates_failed)
            + ". It costs no points, but every policy gate fails.",
            "",
        ]
    if not card.complete:
        inconclusive = any(d.inconclusive for d in card.dimensions)
        why = "Inconclusive checks" if inconclusive else "Checks not run"
        out += [
            f"> **Incomplete.** {why} leave some levels open (shown as ?). The total "
            f"counts proven levels only; it could reach {card.max_possible_total}.",
            "",
        ]
    not_passed = [
        o for d in card.dimensions for o in (*d.failing, *d.gates_failed, *d.inconclusive)
    ]
    if not_passed:
        out += ["### Checks not passed", ""]
        for outcome in not_passed:
            out += _details(outcome, rubric)
    if results.notes:
        out += ["### Notes", ""]
        out += [f"- {_cell(note)}" for note in results.notes]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
