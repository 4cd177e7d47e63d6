"""Every report format renders from one results object, parses with real tools, and agrees."""

from __future__ import annotations

import io
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import cairosvg
import jsonschema
import pytest
from jobforge.rubric.model import load_rubric
from jobforge.rubric.outcomes import CheckOutcome, Outcome
from jobforge.rubric.reports import RENDERERS, print_scorecard, render, write_reports
from jobforge.rubric.results import RunResults, load_results, parse_results
from jobforge.rubric.schema import published_schema
from junitparser import Error, Failure, JUnitXml, Skipped
from PIL import Image, ImageStat
from rich.console import Console

from jobforge.errors import RubricError

pytestmark = pytest.mark.unit

SAMPLE = Path(__file__).parents[2] / "rubric" / "sample_results.json"
RUBRIC = load_rubric()
GREEN, AMBER, RED = (b.color for b in RUBRIC.bands)
GREY = "#9e9e9e"


@pytest.fixture(scope="module")
def sample() -> RunResults:
    return load_results(SAMPLE)


def _with(results: RunResults, check_id: str, outcome: Outcome, *evidence: str) -> RunResults:
    replaced = tuple(
        CheckOutcome(check_id=check_id, outcome=outcome, evidence=evidence)
        if o.check_id == check_id
        else o
        for o in results.outcomes
    )
    return results.model_copy(update={"outcomes": replaced})


@pytest.fixture(scope="module")
def incomplete(sample: RunResults) -> RunResults:
    return _with(sample, "scheduling.single_fire", Outcome.INCONCLUSIVE, "redis restart timed out")


def _png(svg: str, scale: float = 2.0) -> Image.Image:
    png = cairosvg.svg2png(bytestring=svg.encode("utf-8"), scale=scale)
    assert isinstance(png, bytes)
    return Image.open(io.BytesIO(png)).convert("RGB")


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


def _share(image: Image.Image, colour: str) -> float:
    target = _rgb(colour)
    raw = image.tobytes()
    pixels = [raw[i : i + 3] for i in range(0, len(raw), 3)]
    near = sum(1 for p in pixels if sum(abs(a - b) for a, b in zip(p, target, strict=True)) < 30)
    return near / len(pixels)


def _spread(image: Image.Image) -> float:
    """Return the spread of grey levels: near 0 for a blank image."""
    return float(ImageStat.Stat(image.convert("L")).stddev[0])


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_sample_renders_in_every_format_the_same_way_twice(sample: RunResults, fmt: str) -> None:
    first = render(sample, fmt)
    assert first.strip()
    assert render(sample, fmt) == first


def test_json_report_validates_against_the_schema_and_reads_back(sample: RunResults) -> None:
    text = render(sample, "json")
    jsonschema.Draft202012Validator(published_schema()).validate(json.loads(text))
    assert parse_results(text) == sample


def test_junit_has_one_case_per_check_with_failures_errors_and_skips(
    incomplete: RunResults, tmp_path: Path
) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(render(incomplete, "junit"), "utf-8")
    xml = JUnitXml.fromfile(str(path))
    cases = {case.name: case for suite in xml for case in suite}
    assert set(cases) == RUBRIC.check_ids()
    assert len(list(xml)) == 7
    alert = cases["error_handling.alert"].result
    assert [type(r) for r in alert] == [Failure]
    assert "no alert fired" in (alert[0].message or "")
    assert "Hook the dead-letter path" in (alert[0].text or "")
    assert [type(r) for r in cases["scheduling.single_fire"].result] == [Error]
    assert [type(r) for r in cases["concurrency.rate_limit"].result] == [Skipped]
    assert cases["idempotency.duplicate_submit"].is_passed
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (39, 2, 1, 1)


def test_junit_survives_control_characters_in_evidence(sample: RunResults) -> None:
    nasty = _with(sample, "error_handling.alert", Outcome.FAIL, "bad \x00 byte <&> \x1b[31m")
    root = ET.fromstring(render(nasty, "junit"))
    assert root.tag == "testsuites"


def test_markdown_shows_scores_failures_evidence_and_fixes(sample: RunResults) -> None:
    md = render(sample, "md")
    assert "jobforge rubric: 29/35 — Production-grade" in md
    for dim in RUBRIC.dimensions:
        assert f"| {dim.title} |" in md
    assert "| Error handling | 3/5 | Basic retries | `error_handling.alert` (fail) |" in md
    assert "no alert fired within 5.00 s" in md
    assert RUBRIC.check("testing.real_broker_used").remediation.split()[0] in md
    assert "Incomplete" not in md


def test_markdown_marks_an_incomplete_total_and_the_open_dimension(incomplete: RunResults) -> None:
    md = render(incomplete, "md")
    assert "27?/35" in md
    assert "| Scheduling | ?/5 | undecided: at least “Basic cron”" in md
    assert "could reach 29" in md
    assert "❔" in md


def test_markdown_escapes_table_pipes_and_html_in_evidence(sample: RunResults) -> None:
    odd = _with(sample, "error_handling.alert", Outcome.FAIL, "a | b <script>")
    md = render(odd, "md")
    assert "a \\| b &lt;script&gt;" in md
    assert "<script>" not in md


def test_terminal_scorecard_lists_dimensions_failed_checks_and_evidence(
    incomplete: RunResults,
) -> None:
    console = Console(record=True, width=120, color_system=None)
    print_scorecard(incomplete, console=console)
    text = console.export_text()
    for dim in RUBRIC.dimensions:
        assert dim.title in text
    assert "error_handling.alert (fail)" in text
    assert "no alert fired" in text
    assert "scheduling.single_fire (inconclusive)" in text
    assert "? (≥3)/5" in text
    assert "27?/35" in text


def test_badge_says_total_and_is_green_for_production_grade(sample: RunResults) -> None:
    svg = render(sample, "badge")
    assert ">29/35<" in svg and ">jobs<" in svg
    image = _png(svg)
    assert _spread(image) > 20  # not blank
    assert _share(image, GREEN) > 0.15
    assert _share(image, GREY) < 0.01


def test_badge_turns_amber_then_red_as_the_total_drops(sample: RunResults) -> None:
    amber = _with(sample, "idempotency.rerun_each_job_type", Outcome.FAIL, "x")
    amber = _with(amber, "observability.health", Outcome.FAIL, "x")
    assert ">25/35<" in render(amber, "badge")
    assert _share(_png(render(amber, "badge")), AMBER) > 0.15
    red = sample.model_copy(
        update={
            "outcomes": tuple(
                o.model_copy(update={"outcome": Outcome.FAIL}) for o in sample.outcomes
            )
        }
    )
    assert ">7/35<" in render(red, "badge")
    assert _share(_png(render(red, "badge")), RED) > 0.15


def test_incomplete_badge_is_grey_with_a_question_mark(incomplete: RunResults) -> None:
    svg = render(incomplete, "badge")
    assert ">27?/35<" in svg
    image = _png(svg)
    assert _share(image, GREY) > 0.15
    assert _share(image, GREEN) < 0.01


def test_chart_rasterizes_with_a_bar_per_dimension_coloured_by_level(
    incomplete: RunResults,
) -> None:
    svg = render(incomplete, "chart")
    for dim in RUBRIC.dimensions:
        assert f">{dim.title}<" in svg
    image = _png(svg, scale=1.0)
    assert _spread(image) > 20  # not blank
    # Four dimensions at 5 (green), three at 3 (amber), scheduling open (grey, dashed).
    assert _share(image, GREEN) > 3 * _share(image, GREY) > 0
    assert _share(image, AMBER) > 0.02
    assert ">?/5<" in svg and "stroke-dasharray" in svg


def test_write_reports_writes_every_requested_file(sample: RunResults, tmp_path: Path) -> None:
    written = write_reports(
        sample,
        json=tmp_path / "r.json",
        markdown=tmp_path / "r.md",
        junit=tmp_path / "out" / "junit.xml",
        badge=tmp_path / "badge.svg",
        chart=tmp_path / "chart.svg",
    )
    assert set(written) == {"json", "md", "junit", "badge", "chart"}
    assert load_results(written["json"]) == sample
    assert written["junit"].read_text("utf-8") == render(sample, "junit")


def test_unknown_format_lists_the_known_ones(sample: RunResults) -> None:
    with pytest.raises(RubricError, match=r"unknown report format 'pdf'.*md.*junit"):
        render(sample, "pdf")
