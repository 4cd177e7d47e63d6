"""Which pages the kit's site generates, and from which files under the site's root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jobforge.docs_gen.adapter_reference import adapter_reference_markdown
from jobforge.docs_gen.checks import check_catalogue_markdown
from jobforge.docs_gen.questions import question_reference_markdown
from jobforge.docs_gen.sources import check_descriptions, load_rubric, parse_bank, rubric_markdown
from jobforge.errors import UsageError


@dataclass(frozen=True, kw_only=True)
class GeneratedPage:
    """One page of the site made at build time."""

    src_uri: str  # path inside docs/, e.g. "reference/questions.md"
    content: str  # the Markdown


def _read(root: Path, relative: str) -> str:
    path = root / relative
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"{relative}: cannot read {path} ({exc.strerror}); build the site from the "
            "repository top, where mkdocs.yml sits next to questionnaire/ and rubric/"
        ) from exc


def generated_pages(root: Path) -> list[GeneratedPage]:
    """Build every generated page from the YAML under ``root`` (the directory of mkdocs.yml)."""
    bank = parse_bank(
        _read(root, "questionnaire/questions.yaml"), _read(root, "questionnaire/decision_tree.yaml")
    )
    rubric = load_rubric(root / "rubric" / "rubric.yaml")
    return [
        GeneratedPage(src_uri="reference/questions.md", content=question_reference_markdown(bank)),
        GeneratedPage(src_uri="reference/rubric.md", content=rubric_markdown(rubric)),
        GeneratedPage(
            src_uri="reference/checks.md",
            content=check_catalogue_markdown(rubric, check_descriptions()),
        ),
        GeneratedPage(src_uri="reference/adapter.md", content=adapter_reference_markdown()),
    ]
