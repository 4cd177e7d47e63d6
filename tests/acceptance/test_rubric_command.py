"""The installed `jobforge` command renders reports and gates CI with the documented exit codes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml

pytestmark = pytest.mark.acceptance

SAMPLE = Path(__file__).parents[2] / "rubric" / "sample_results.json"


def _jobforge(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("jobforge", path=str(Path(sys.executable).parent))
    assert exe, "the jobforge console script is not installed next to this Python"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=60, check=False)


def test_installed_command_writes_junit_that_a_junit_parser_reads(tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    done = _jobforge("report", str(SAMPLE), "--format", "junit", "--output", str(out))
    assert done.returncode == 0, done.stderr
    xml = JUnitXml.fromfile(str(out))
    assert (xml.tests, xml.failures, xml.skipped) == (39, 2, 1)


@pytest.mark.parametrize(("minimum", "code"), [(28, 0), (30, 1)])
def test_installed_command_gate_exit_codes(tmp_path: Path, minimum: int, code: int) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"minimum_total: {minimum}\n", "utf-8")
    done = _jobforge("report", str(SAMPLE), "--format", "badge", "--policy", str(policy))
    assert done.returncode == code, done.stderr
    assert done.stdout.startswith("<svg")


def test_installed_command_exits_2_on_a_missing_results_file(tmp_path: Path) -> None:
    done = _jobforge("report", str(tmp_path / "absent.json"))
    assert done.returncode == 2
    assert "cannot read results file" in done.stderr
