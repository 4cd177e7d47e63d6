"""`jobforge rubric` prints the rubric from its data; `jobforge report` renders saved results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jobforge.rubric.docs import rubric_markdown
from jobforge.rubric.model import Rubric, load_rubric
from jobforge.rubric.reports import render
from jobforge.rubric.results import load_results

from jobforge.cli import main

pytestmark = pytest.mark.unit

SAMPLE = Path(__file__).parents[2] / "rubric" / "sample_results.json"


def test_rubric_markdown_has_every_level_check_remediation_and_band() -> None:
    rubric = load_rubric()
    md = rubric_markdown(rubric)
    assert md.startswith(f"# {rubric.title} (version {rubric.version})")
    for dim in rubric.dimensions:
        assert f"## {dim.title}" in md
        for level in dim.levels:
            assert f"| {level.points} | {level.summary} |" in md
        for check in dim.checks:
            assert f"| `{check.id}` |" in md
            assert " ".join(check.remediation.split()) in md
    assert "| 28-35 | Production-grade |" in md
    assert "| 21-27 | Needs reliability work |" in md
    assert "| 7-20 | Jobs will fail silently |" in md


def test_rubric_command_prints_the_generated_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rubric"]) == 0
    assert capsys.readouterr().out == rubric_markdown(load_rubric())


def test_rubric_command_json_is_the_rubric_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rubric", "--format", "json"]) == 0
    assert Rubric.model_validate(json.loads(capsys.readouterr().out)) == load_rubric()


@pytest.mark.parametrize("fmt", ["md", "junit", "badge", "chart", "json", "terminal"])
def test_report_command_writes_each_format_to_output(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    assert main(["report", str(SAMPLE), "--format", fmt, "--output", str(out)]) == 0
    assert out.read_text("utf-8") == render(load_results(SAMPLE), fmt)


def test_report_command_defaults_to_the_terminal_scorecard(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["report", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "Error handling" in out and "29/35" in out and "Production-grade" in out


def test_report_on_a_malformed_results_file_exits_2_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": "1", "profile": 3}', "utf-8")
    assert main(["report", str(bad), "--format", "md"]) == 2
    err = capsys.readouterr().err
    assert "results file" in err and "rubric_version: Field required" in err


def test_help_lists_report_and_rubric(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "report" in out and "rubric" in out
