"""The root command line routes to subcommands and reports errors with exit codes."""

from __future__ import annotations

import pytest

from jobforge import __version__
from jobforge.cli import main

pytestmark = pytest.mark.unit


def test_version_flag_prints_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: jobforge" in capsys.readouterr().out
