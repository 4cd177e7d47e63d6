"""The terminal scorecard: a rich table of dimensions, scores and the checks that did not pass."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .colours import GREY, level_colour, total_colour
from .model import Rubric
from .results import RunResults
from .scoring import DimensionScore, Scorecard

#: Evidence lines shown per check in the terminal; the rest is in the JSON and Markdown reports.
EVIDENCE_LINES = 3


def _not_passed(dim: DimensionScore) -> Text:
    if not dim.ran:
        return Text("not run: no check of this dimension was selected", style="dim")
    text = Text()
    for outcome in (*dim.failing, *dim.gates_failed, *dim.inconclusive):
        if text:
            text.append("\n")
        style = "yellow" if outcome in dim.inconclusive else "red"
        label = outcome.outcome.label
        if outcome in dim.gates_failed:
            label = "fail, gate: costs no points, fails any policy"
        text.append(f"{outcome.check_id} ({label})", style=f"bold {style}")
        for line in outcome.evidence[:EVIDENCE_LINES]:
            text.append(f"\n  {line}", style="dim")
        hidden = len(outcome.evidence) - EVIDENCE_LINES
        if hidden > 0:
            text.append(f"\n  … {hidden} more (see the JSON or Markdown report)", style="dim")
    if dim.not_run:
        if text:
            text.append("\n")
        text.append(f"{len(dim.not_run)} check(s) not run", style="dim")
    return text or Text("all checks passed", style="green")


def _any_inconclusive(card: Scorecard) -> bool:
    return any(d.inconclusive for d in card.dimensions)


def scorecard_table(results: RunResults, card: Scorecard, rubric: Rubric) -> Table:
    """Build the scorecard table for one run."""
    impl = results.implementation
    table = Table(
        title=f"jobforge rubric {card.rubric_version}: {impl.name} {impl.version} ({impl.backend})",
        show_lines=True,
    )
    table.add_column("Dimension", no_wrap=True)
    table.add_column("Score", justify="right", no_wrap=True)
    table.add_column("Failed, unsupported or inconclusive checks, with evidence")
    for dim in card.dimensions:
        colour = level_colour(rubric, dim.level)
        shown = dim.display if dim.known else f"? (≥{dim.lower_bound})"
        score = Text(f"{shown}/5", style=f"bold {colour}") if dim.ran else Text("not run", GREY)
        table.add_row(dim.title, score, _not_passed(dim))
    band_colour = total_colour(card)
    table.add_row(
        Text("Total", style="bold"),
        Text(card.total_display, style=f"bold {band_colour}"),
        Text(card.verdict, style=f"bold {band_colour}"),
    )
    captions = []
    if card.partial:
        captions.append(
            f"Partial run: the total covers the {len(card.dimensions_run)} dimension(s) that "
            "ran; the others were not run."
        )
    if not card.complete:
        why = "inconclusive checks" if _any_inconclusive(card) else "checks not run"
        captions.append(
            f"Incomplete: {why} leave some levels open; the total counts proven "
            f"levels only and could reach {card.max_possible_total}."
        )
    if card.gates_failed:
        captions.append(
            "Failed gate: " + ", ".join(o.check_id for o in card.gates_failed) + " (no points "
            "lost, but every policy gate fails)."
        )
    if captions:
        table.caption = " ".join(captions)
    return table


def print_terminal(results: RunResults, card: Scorecard, rubric: Rubric, console: Console) -> None:
    """Print the scorecard and the run's notes to ``console``."""
    console.print(scorecard_table(results, card, rubric))
    for note in results.notes:
        console.print(f"note: {note}", style="yellow")


def render_terminal(results: RunResults, card: Scorecard, rubric: Rubric) -> str:
    """Render the scorecard as plain text, as a terminal 100 columns wide would show it."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, color_system=None, legacy_windows=False)
    print_terminal(results, card, rubric, console)
    return buffer.getvalue()
