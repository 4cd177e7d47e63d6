"""Run the bundled copier template: ``jobforge new``.

An installed wheel has no repository top, so the template root is materialized: the
``copier.yml`` rendered from the bundled question bank, next to a copy of the installed
``jobforge/templates/project`` tree. With a :class:`~.template_cache.TemplateCache` it is
materialized into that git repository and copied from its tag, so the project's answers name a
template ``copier update`` can find later; without one, into a temporary directory. Copier runs
with ``unsafe=False``: the template has no tasks and no extensions, so it never needs ``--trust``.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from jobforge.errors import AnswersError, TemplateError

from .bank import BANK_FILES, Bank
from .copier_gen import ANSWERS_FILE, SUBDIRECTORY, render_copier_yml
from .model import Answers, default_bank
from .prompting import speaking_prompts
from .template_cache import TemplateCache
from .validation import load_answers

#: Where the bank's YAML sits under the template root (the package folder in a checkout).
BANK_DIR = "questionnaire"


class TemplateSource(Protocol):
    """Where the copier template comes from: writes a complete template root into a directory."""

    def materialize(self, directory: Path) -> Path:
        """Write the template root into ``directory`` and return the root."""
        ...


class BundledTemplate:
    """The template shipped in the package: copier.yml from the bank plus ``templates/project``."""

    def __init__(self, bank: Bank) -> None:
        """Use ``bank`` for the questions."""
        self.bank = bank

    def materialize(self, directory: Path) -> Path:
        """Write ``copier.yml``, the bank's YAML and the bundled project tree.

        The layout is the repository's: the spec templates include ``questionnaire/*.yaml``
        from the template root, as they do under plain ``copier copy`` of a checkout.
        """
        (directory / "copier.yml").write_text(render_copier_yml(self.bank), encoding="utf-8")
        bank_files = resources.files("jobforge.questionnaire")
        (directory / BANK_DIR).mkdir(parents=True, exist_ok=True)
        for name in BANK_FILES:
            text = bank_files.joinpath(name).read_text(encoding="utf-8")
            (directory / BANK_DIR / name).write_text(text, encoding="utf-8")
        project = resources.files("jobforge.templates").joinpath("project")
        with resources.as_file(project) as source:
            shutil.copytree(
                source,
                directory / SUBDIRECTORY,
                ignore=shutil.ignore_patterns("__pycache__", "*.py[co]"),
            )
        return directory


def new_project(
    destination: Path,
    source: TemplateSource,
    *,
    data: Mapping[str, Any] | None = None,
    defaults: bool = False,
    overwrite: bool = False,
    cache: TemplateCache | None = None,
    validated: Answers | None = None,
    bank: Bank | None = None,
) -> Answers:
    """Generate into ``destination``; return the answers copier recorded, validated.

    With ``data`` or ``defaults`` nothing is asked; otherwise copier asks every question in the
    terminal. Keys of ``data`` starting with ``_`` are dropped. With ``cache``, the template is
    published there and copied from its tag (the project can then be updated with copier).
    ``validated`` is ``data`` already validated by the caller: it is returned as it is, so the
    answers are validated once (copier's validators agree with the model: an agreement test).
    ``bank`` (the default bank when omitted) words the messages of bad answers at the prompts.
    """
    answers = {k: v for k, v in (data or {}).items() if not k.startswith("_")}
    quiet = defaults or data is not None
    # Asked in a terminal: bad answers get answers check's lines, wrapped (see prompting).
    asking: AbstractContextManager[None] = (
        nullcontext() if quiet else speaking_prompts(bank or default_bank())
    )
    if cache is not None:
        tag = cache.publish(source.materialize)
        with asking:
            _copy(cache.path, destination, answers, quiet, overwrite, tag)
    else:
        with tempfile.TemporaryDirectory(prefix="jobforge-template-") as tmp:
            root = source.materialize(Path(tmp))
            with asking:
                _copy(root, destination, answers, quiet, overwrite, None)
    if validated is not None:
        return validated
    answers_file = destination / ANSWERS_FILE
    try:
        return load_answers(answers_file)
    except AnswersError as exc:
        raise TemplateError(
            f"copier wrote {answers_file} but the answers model rejects it; this is a jobforge "
            f"bug, please report it: {'; '.join(exc.errors)}"
        ) from exc


def _copy(
    root: Path,
    destination: Path,
    answers: Mapping[str, Any],
    defaults: bool,
    overwrite: bool,
    vcs_ref: str | None,
) -> None:
    import copier  # heavy: imported only when a project is generated

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", copier.errors.CopierWarning)
            copier.run_copy(
                str(root),
                str(destination),
                data=dict(answers),
                defaults=defaults,
                overwrite=overwrite,
                unsafe=False,
                quiet=True,
                vcs_ref=vcs_ref,
            )
    except copier.errors.CopierAnswersInterrupt:
        raise
    except (ValueError, copier.errors.CopierError) as exc:
        raise TemplateError(f"copier could not generate {destination}: {exc}") from exc
