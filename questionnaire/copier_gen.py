"""Generate ``copier.yml`` from the question bank.

``render_copier_yml(bank)`` is a pure function used both here (``python -m
jobforge.questionnaire.copier_gen --write`` regenerates the repository's ``copier.yml``; ``--check``
exits 1 when the file has drifted from the bank) and by ``jobforge new``, which writes the same
text next to the bundled template.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import TemplateError, UsageError
from ..files import write_file
from .bank import Bank, Option, Question, load_bank
from .jinja_checks import choice_validator, lit, recommended_check, validator
from .jinja_defaults import default_jinja, derived_default

#: Where the template content lives, relative to the template root.
SUBDIRECTORY = "templates/project"
ANSWERS_FILE = ".copier-answers.jobs.yml"
MIN_COPIER_VERSION = "9.9.1"
HEADER = (
    "# GENERATED from questionnaire/questions.yaml, questionnaire/decision_tree.yaml and\n"
    "# templates/copier-settings.yml by\n"
    "#   python -m jobforge.questionnaire.copier_gen --write\n"
    "# Do not edit by hand: a test fails when this file and the question bank drift apart.\n"
    "# No _tasks and no _jinja_extensions, so `copier copy` never needs --trust.\n"
)
COPIER_TYPES = {
    "text": "str",
    "reason": "str",
    "identifier": "str",
    "broker_url": "str",
    # Copier casts these itself; a value that does not cast gets its bare "Invalid input" at
    # the prompt (a YAML type would reach the validator but shows a default of 2 as "2\n...").
    "int": "int",
    "float": "float",
    "bool": "bool",
    "choice": "str",
    "multiselect": "str",
    "identifier_list": "yaml",
    "delay_list": "yaml",
    "schedule_list": "yaml",
    "timezone": "str",
}


#: Copier prints a question's help as written, after a two-column marker on its first line; at
#: this width every line fits an 80-column terminal with room to spare.
HELP_WIDTH = 76


def wrap(text: str, indent: str = "", hanging: str = "") -> list[str]:
    """Wrap ``text`` to :data:`HELP_WIDTH` at spaces only (never inside a word or a URL)."""
    return textwrap.wrap(
        text,
        HELP_WIDTH,
        initial_indent=indent,
        subsequent_indent=hanging or indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _option_lines(option: Option) -> list[str]:
    when = f"When: {option.when} " if option.when else ""
    why = f"Why: {option.recommended} " if option.recommended else ""
    text = (
        f"{option.display}: {why}{when}{option.pros} Cons: {option.cons} "
        f"Best for: {option.best_for}"
    )
    return wrap(text, "  - ", "    ")


def help_text(question: Question) -> str:
    """Return the text copier shows above a question: prompt, help, each option's trade-offs.

    Every line is wrapped to :data:`HELP_WIDTH` columns.
    """
    lines = wrap(question.prompt)
    if question.help:
        lines.extend(wrap(question.help))
    for option in question.options:
        lines.extend(_option_lines(option))
    fills = ", ".join(f"{fill.doc.rsplit('/', 1)[-1]} ({fill.section})" for fill in question.fills)
    lines.extend(wrap(f"Fills: {fills}", "", "  "))
    return "\n".join(lines)


def _default(bank: Bank, question: Question) -> Any:
    derived = default_jinja(bank, question)
    if derived is None:
        return question.default
    prefix, expr = derived
    source = question.default_from
    if source is not None and source.suggested and source.key == "job_types":
        return prefix + f"{{{{ {expr} if {expr} is string else {expr} | tojson }}}}"
    return prefix + f"{{{{ {expr} }}}}"


def _recommended_help(bank: Bank, question: Question) -> str:
    """Jinja listing the values a recommended-settings question stands for, wrapped."""
    lines = []
    for key in question.covers:
        covered = bank.question(key)
        if covered.kind == "reason":
            continue
        prefix, expr = derived_default(bank, covered)
        shown = f"{key}: ' ~ ({key} if {key} is string else {key} | tojson)"
        # Every line break comes from an expression: the statements trim the text around them.
        wrapped = f"('  - {shown}) | wordwrap({HELP_WIDTH - 6}, false, '\\n      ', false)"
        line = f"{{{{ '\\n' ~ {wrapped} }}}}"
        if covered.ask_when is not None:
            operator = "!=" if covered.ask_when.differs else "=="
            test = f"{covered.ask_when.key} {operator} {lit(covered.ask_when.equals)}"
            line = f"{{%- if {test} -%}}{line}{{%- endif -%}}"
        lines.append(f"{prefix}{{%- set {key} = {expr} -%}}{line}")
    return "".join(lines)


def _layout(check: str) -> str:
    # Every tag trims whitespace around it, so one tag per line changes nothing but layout.
    return check.replace("-%}{%-", "-%}\n{%-").replace("-%}{{-", "-%}\n{{-")


def _choice(bank: Bank, question: Question, value: str) -> Any:
    """Return a choice: its value, or value and a validator disabling it when it breaks a rule.

    A select prompt does not run the question's validator, so rules of a single-choice question
    also go on each choice: copier shows a disabled choice with the reason and skips it.
    """
    check = choice_validator(bank, question, value, HELP_WIDTH)
    return {"value": value, "validator": _layout(check)} if check else value


def question_entry(bank: Bank, question: Question) -> dict[str, Any]:
    """Return the copier.yml entry of one question."""
    entry: dict[str, Any] = {"type": COPIER_TYPES[question.kind], "help": help_text(question)}
    if question.covers:
        entry["help"] = (
            "\n".join(wrap(question.prompt))
            + "\nThe recommended settings, from the job types and earlier answers:"
            + _recommended_help(bank, question)
            + "{{ '\\n' }}"
            + "\n".join(wrap(question.help))
        )
    if question.options:
        entry["choices"] = {
            option.display: _choice(bank, question, option.value) for option in question.options
        }
    if question.kind == "multiselect":
        entry["multiselect"] = True
    if COPIER_TYPES[question.kind] == "yaml":
        entry["multiline"] = False
    entry["default"] = _default(bank, question)
    conditions = []
    if question.covered_by is not None:
        conditions.append(f"not {question.covered_by}")
    if question.ask_when is not None:
        operator = "!=" if question.ask_when.differs else "=="
        conditions.append(f"{question.ask_when.key} {operator} {lit(question.ask_when.equals)}")
    if conditions:
        entry["when"] = f"{{{{ {' and '.join(conditions)} }}}}"
    extra = ""
    if question.covered_by is not None:
        # After the rules, and only when they pass: the order of evaluate.evaluate.
        check = recommended_check(question, *derived_default(bank, question))
        extra = f"{{%- if ns.errs | length == 0 -%}}{check}{{%- endif -%}}"
    check = validator(bank, question, extra)
    if check:
        entry["validator"] = _layout(check)
    return entry


class _Dumper(yaml.SafeDumper):
    """A YAML dumper writing multi-line strings as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


#: Settings that would need ``--trust`` or that the questionnaire alone decides.
_FORBIDDEN_SETTINGS = frozenset(
    {"_tasks", "_jinja_extensions", "_migrations", "_subdirectory", "_answers_file"}
)


def load_template_settings() -> dict[str, Any]:
    """Read the copier settings the template content declares (``templates/copier-settings.yml``).

    The template part owns which files an existing project keeps (``_skip_if_exists``) and what
    is never copied (``_exclude``); the generator merges them into ``copier.yml``.
    """
    resource = resources.files("jobforge.templates") / "copier-settings.yml"
    data = yaml.safe_load(resource.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise TemplateError(
            f"templates/copier-settings.yml: expected a mapping of copier settings, got "
            f"{type(data).__name__}; write keys such as _skip_if_exists: [README.md]"
        )
    return data


def _check_template_settings(settings: Mapping[str, Any]) -> None:
    for key in settings:
        if not str(key).startswith("_") or key in _FORBIDDEN_SETTINGS:
            raise TemplateError(
                f"templates/copier-settings.yml: {key!r} is not allowed there; only copier "
                "settings (keys starting with '_') other than "
                f"{', '.join(sorted(_FORBIDDEN_SETTINGS))} may be declared"
            )


def render_copier_yml(bank: Bank, template_settings: Mapping[str, Any] | None = None) -> str:
    """Render the whole ``copier.yml`` for a bank and the template's own copier settings."""
    extra = load_template_settings() if template_settings is None else dict(template_settings)
    _check_template_settings(extra)
    settings: dict[str, Any] = {
        "_min_copier_version": MIN_COPIER_VERSION,
        "_subdirectory": SUBDIRECTORY,
        "_answers_file": ANSWERS_FILE,
        "_exclude": ["__pycache__", "*.py[co]", ".DS_Store", "~*"],
    }
    for key, value in extra.items():
        if key == "_exclude":
            settings["_exclude"] += [p for p in value if p not in settings["_exclude"]]
        else:
            settings[key] = value
    questions = {q.key: question_entry(bank, q) for q in bank.questions}
    body = (
        yaml.dump(settings, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100) + "\n"
    )
    for group in bank.groups:
        body += f"# --- {group.title} ---\n"
        part = {q.key: questions[q.key] for q in group.questions}
        body += yaml.dump(part, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
        body += "\n"
    return HEADER + "\n" + body.rstrip("\n") + "\n"


def repository_copier_yml() -> Path:
    """Return the ``copier.yml`` path at the top of the source tree of this package."""
    return Path(__file__).resolve().parent.parent / "copier.yml"


def main(argv: Sequence[str] | None = None) -> int:
    """Write or check the repository's copier.yml; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m jobforge.questionnaire.copier_gen")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate copier.yml")
    mode.add_argument("--check", action="store_true", help="exit 1 when copier.yml has drifted")
    parser.add_argument("--path", type=Path, default=None, help="copier.yml to write or check")
    args = parser.parse_args(argv)
    path: Path = args.path or repository_copier_yml()
    text = render_copier_yml(load_bank())
    if args.write:
        try:
            write_file(path, text, "copier.yml")
        except UsageError as exc:
            print(f"copier_gen: error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {path}")
        return 0
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if current != text:
        print(
            f"{path} has drifted from the question bank; regenerate it with "
            "python -m jobforge.questionnaire.copier_gen --write",
            file=sys.stderr,
        )
        return 1
    print(f"{path} matches the question bank")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
