"""The terminal scorecard: a rich table of dimensions, scores and the checks that did not pass."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .colours import GREY, level_colour
from .model import Rubric
from .results import RunResults
from .scoring import DimensionScore, Scorecard

#: Evidence lines shown per check in the terminal; the rest is in the JSON and Markdown reports.
EVIDENCE_LINES = 3


def _not_passed(dim: DimensionScore) -> Text:
    text = Text()
    for outcome in (*dim.failing, *dim.inconclusive):
        if text:
            text.append("\n")
        style = "yellow" if outcome in dim.inconclusive else "red"
        text.append(f"{outcome.check_id} ({outcome.outcome})", style=f"bold {style}")
        for line in outcome.evidence[:EVIDENCE_LINES]:
            text.append(f"\n  {line}", style="dim")
        hidden = len(outcome.evidence) - EVIDENCE_LINES
        if hidden > 0:
            text.append(f"\n  … {hidden} more (see the JSON or Markdown report)", style="dim")
    return text or Text("all checks passed", style="green")


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
        table.add_row(dim.title, Text(f"{shown}/5", style=f"bold {colour}"), _not_passed(dim))
    band_colour = card.band.color if card.complete else GREY
    verdict = card.band.label if card.band_decided else f"{card.band.label} or better"
    table.add_row(
        Text("Total", style="bold"),
        Text(card.total_display, style=f"bold {band_colour}"),
        Text(verdict, style=f"bold {band_colour}"),
    )
    if not card.complete:
        table.caption = (
            f"Incomplete: inconclusive checks leave some levels open; the total counts proven "
            f"levels only and could reach {card.max_possible_total}."
        )
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
