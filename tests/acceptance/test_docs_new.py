"""``jobforge new`` (the installed template, no repository top) writes the spec documents too."""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_support import EXAMPLES, SPEC_DOCS, mkdocs_build

from jobforge.cli import main

pytestmark = pytest.mark.acceptance


def test_jobforge_new_writes_spec_documents_that_build_strict(tmp_path: Path) -> None:
    dest = tmp_path / "project"
    assert main(["new", str(dest), "--answers", str(EXAMPLES / "sqlite.yml")]) == 0
    for doc in SPEC_DOCS:
        assert (dest / doc).is_file(), doc
    result = mkdocs_build(dest / "mkdocs.jobs.yml")
    assert result.returncode == 0, result.stderr
