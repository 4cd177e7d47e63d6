"""``jobforge score``: reports, exit codes, and inconclusive (exit 2) when the kit cannot run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jobforge.conformance.reference import FLAWS

from jobforge.cli import main

pytestmark = pytest.mark.unit


def test_list_flaws_prints_every_flaw(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--list-flaws"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in FLAWS)


def test_reference_subset_passes_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "results.json"
    code = main(
        [
            "score",
            "--reference",
            "--check",
            "observability.health",
            "--no-progress",
            "--json",
            str(report),
        ]
    )
    assert code == 0
    data = json.loads(report.read_text())
    outcomes = {o["check_id"]: o["outcome"] for o in data["outcomes"]}
    assert outcomes.pop("observability.health") == "pass"
    assert set(outcomes.values()) == {"not_run"}
    card = data["scorecard"]
    assert (card["partial"], card["band"], card["max_total"]) == (True, None, 5)
    out = capsys.readouterr().out
    assert "run took" in out
    assert "no outcome was recorded" not in out and "inconclusive checks leave" not in out
    assert "not run" in out and "partial run (1 of 7 dimensions: observability)" in out


def test_partial_run_exit_code_follows_the_policy_rules_about_what_ran(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nminimum_total: 35\nrequired_checks: [observability.health]\n"
        "dimension_minimums: {idempotency: 5}\n"
    )
    argv = ["score", "--reference", "--check", "observability.health", "--no-progress"]
    assert main([*argv, "--policy", str(policy)]) == 0
    out = capsys.readouterr().out
    assert "policy met: required check observability.health is pass" in out
    assert "policy not judged: idempotency: not run (minimum level 5)" in out


def test_unimportable_adapter_is_inconclusive_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "results.json"
    assert main(["score", "--adapter", "nosuch_pkg_q:Adapter", "--json", str(report)]) == 2
    err = capsys.readouterr().err
    assert "inconclusive" in err and "nosuch_pkg_q" in err
    outcomes = {o["outcome"] for o in json.loads(report.read_text())["outcomes"]}
    assert outcomes == {"inconclusive"}


def test_unwritable_ledger_is_inconclusive_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(
        [
            "score",
            "--reference",
            "--check",
            "observability.health",
            "--no-progress",
            "--workdir",
            str(blocker),
        ]
    )
    assert code == 2
    assert "ledger" in capsys.readouterr().err


def test_adapter_is_read_from_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.jobforge]\nadapter = "jobforge.conformance.reference:ReferenceAdapter"\n'
    )
    monkeypatch.chdir(tmp_path)
    assert main(["score", "--check", "observability.health", "--no-progress"]) == 0


def test_no_adapter_anywhere_is_inconclusive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["score", "--check", "observability.health"]) == 2
    assert "[tool.jobforge] adapter" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["score", "--flaw", "no_tests"], "add --reference"),
        (["score", "--reference", "--flaw", "nope"], "unknown reference flaw"),
        (["score", "--reference", "--check", "nope.nothing"], "no such check id"),
    ],
)
def test_usage_errors_exit_2_with_the_fix(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_policy_below_minimum_exits_1(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\ndimension_minimums: {testing: 3}\nminimum_total: 35\n")
    code = main(
        [
            "score",
            "--reference",
            "--flaw",
            "no_tests",
            "--check",
            "testing",
            "--no-progress",
            "--policy",
            str(policy),
        ]
    )
    assert code == 1
