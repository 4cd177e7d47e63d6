"""Every report from one results object: JSON, Markdown, JUnit XML, SVG badge and chart, terminal.

Each format is a :class:`Renderer`; :func:`render` scores the results once and hands the same
scorecard to the renderer, so every report agrees.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from rich.console import Console

from jobforge.errors import RubricError

from .format_junit import render_junit
from .format_markdown import render_markdown
from .format_svg import render_badge, render_chart
from .format_terminal import print_terminal, render_terminal
from .model import Rubric, load_rubric
from .results import RunResults, results_json
from .scoring import Scorecard


class Renderer(Protocol):
    """Turns one run and its scorecard into the text of one report format."""

    def __call__(self, results: RunResults, card: Scorecard, rubric: Rubric) -> str:
        """Return the report's text."""


def _render_json(results: RunResults, card: Scorecard, rubric: Rubric) -> str:
    return results_json(results, rubric)


#: Report formats by name, as ``jobforge report --format`` accepts them.
RENDERERS: Mapping[str, Renderer] = MappingProxyType(
    {
        "json": _render_json,
        "md": render_markdown,
        "junit": render_junit,
        "badge": render_badge,
        "chart": render_chart,
        "terminal": render_terminal,
    }
)


def render(results: RunResults, fmt: str, rubric: Rubric | None = None) -> str:
    """Render ``results`` in format ``fmt`` (json, md, junit, badge, chart or terminal)."""
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        known = ", ".join(RENDERERS)
        raise RubricError(f"unknown report format {fmt!r}; choose one of: {known}")
    rubric = rubric if rubric is not None else load_rubric()
    return renderer(results, results.scorecard(rubric), rubric)


def write_reports(
    results: RunResults,
    *,
    json: Path | str | None = None,
    markdown: Path | str | None = None,
    junit: Path | str | None = None,
    badge: Path | str | None = None,
    chart: Path | str | None = None,
    rubric: Rubric | None = None,
) -> dict[str, Path]:
    """Write each report whose path is given; return the paths written by format name."""
    wanted = {"json": json, "md": markdown, "junit": junit, "badge": badge, "chart": chart}
    rubric = rubric if rubric is not None else load_rubric()
    card = results.scorecard(rubric)
    written: dict[str, Path] = {}
    for fmt, target in wanted.items():
        if target is None:
            continue
        path = Path(target)
        text = RENDERERS[fmt](results, card, rubric)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
        except OSError as exc:
            raise RubricError(f"cannot write the {fmt} report to {str(path)!r}: {exc}") from exc
        written[fmt] = path
    return written


def print_scorecard(
    results: RunResults, console: Console | None = None, rubric: Rubric | None = None
) -> None:
    """Print the rich scorecard table (to standard output unless ``console`` is given)."""
    rubric = rubric if rubric is not None else load_rubric()
    print_terminal(results, results.scorecard(rubric), rubric, console or Console())
