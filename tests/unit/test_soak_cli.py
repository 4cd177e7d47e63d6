"""`jobforge soak` exits 2 when the soak cannot be made, naming why."""

from __future__ import annotations

import pytest

from jobforge.cli import main

pytestmark = pytest.mark.unit


def test_an_adapter_that_cannot_be_loaded_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["soak", "--adapter", "no_such_module_xyz:Adapter", "--seed", "1", "--quiet"])
    assert code == 2
    assert "no_such_module_xyz" in capsys.readouterr().err


def test_a_flaw_without_the_reference_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["soak", "--flaw", "no_idempotency", "--seed", "1"]) == 2
    assert "add --reference" in capsys.readouterr().err


def test_an_unreadable_replay_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["soak", "--reference", "--replay", "/nonexistent/soak.json"]) == 2
    assert "--replay /nonexistent/soak.json: cannot read it" in capsys.readouterr().err


def test_a_seed_with_replay_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["soak", "--reference", "--replay", "x.json", "--seed", "3"]) == 2
    assert "drop --seed" in capsys.readouterr().err
