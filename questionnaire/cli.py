"""Subcommands of the questionnaire: ``answers check``, ``answers schema``, ``recommend``, ``new``.

Handlers import their heavy dependencies (pydantic models, copier) only when they run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

JOB_TYPES = ("immediate", "scheduled", "long_running", "event_driven", "batch")


def one_line(text: str) -> str:
    """Escape control characters (a newline inside a value) so each error stays on one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def register(subparsers: Any) -> None:
    """Add the questionnaire's subcommands to the root parser."""
    answers = subparsers.add_parser("answers", help="check answers files, print their schema")
    answers_sub = answers.add_subparsers(dest="answers_command", metavar="ACTION", required=True)
    check = answers_sub.add_parser(
        "check", help="validate an answers file; exit 1 listing every error"
    )
    check.add_argument("file", type=Path, metavar="FILE", help="answers file (YAML)")
    check.set_defaults(handler=check_answers)
    schema = answers_sub.add_parser("schema", help="print the answers JSON Schema")
    schema.set_defaults(handler=print_schema)
    reference = answers_sub.add_parser(
        "reference", help="print every question, option and spec section as Markdown"
    )
    reference.set_defaults(handler=print_reference)

    recommend = subparsers.add_parser(
        "recommend", help="suggest an answers file from the job-type decision tree"
    )
    recommend.add_argument(
        "--job-type",
        dest="job_types",
        action="append",
        required=True,
        choices=JOB_TYPES,
        metavar="TYPE",
        help=f"a job type ({', '.join(JOB_TYPES)}); repeat for several",
    )
    recommend.add_argument(
        "--queue-technology", default="sqlite", help="queue technology (default: sqlite)"
    )
    recommend.add_argument("--output", "-o", type=Path, help="write to a file, not stdout")
    recommend.set_defaults(handler=recommend_answers)

    new = subparsers.add_parser(
        "new", help="generate a job subsystem with the bundled copier template"
    )
    new.add_argument("destination", type=Path, metavar="DEST", help="project directory")
    new.add_argument("--answers", type=Path, metavar="FILE", help="answers file; asks nothing")
    new.add_argument("--defaults", action="store_true", help="accept every default; asks nothing")
    new.add_argument("--overwrite", action="store_true", help="overwrite existing files")
    new.set_defaults(handler=new_project)


def check_answers(args: argparse.Namespace) -> int:
    """``jobforge answers check FILE``: 0 when valid, 1 listing every error."""
    from jobforge.errors import AnswersError

    from .model import default_bank
    from .validation import load_answers

    path: Path = args.file
    try:
        answers = load_answers(path)
    except AnswersError as exc:
        count = len(exc.errors)
        print(f"{path}: {count} error{'' if count == 1 else 's'}")
        for error in exc.errors:
            print(f"  {one_line(error)}")
        return 1
    technology = default_bank().question("queue_technology").option(answers.queue_technology)
    note = (
        f"spec documents only: {technology.spec_only_reason or 'no generated job subsystem yet'}"
        if technology.generated == "spec_only"
        else "generated job subsystem"
    )
    print(f"{path}: valid ({technology.label}: {note})")
    return 0


def print_schema(args: argparse.Namespace) -> int:
    """``jobforge answers schema``: print the answers JSON Schema."""
    from .schema import schema_json

    sys.stdout.write(schema_json())
    return 0


def print_reference(args: argparse.Namespace) -> int:
    """``jobforge answers reference``: print the question bank as Markdown (the site's page)."""
    from typing import cast

    from jobforge.docs_gen.questions import question_reference_markdown
    from jobforge.docs_gen.sources import BankLike

    from .model import default_bank

    # The site's reader protocols describe the bank read-only; the pydantic model is one.
    bank = cast(BankLike, default_bank())
    sys.stdout.write(question_reference_markdown(bank) + "\n")
    return 0


def recommend_answers(args: argparse.Namespace) -> int:
    """``jobforge recommend``: print (or write) a suggested, valid answers file."""
    from jobforge.files import write_file

    from .model import default_bank
    from .recommend import recommend, render_recommendation

    bank = default_bank()
    text = render_recommendation(bank, recommend(bank, args.job_types, args.queue_technology))
    if args.output:
        write_file(args.output, text, "the answers file")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def new_project(args: argparse.Namespace) -> int:
    """``jobforge new DEST``: run the bundled template (interactive unless answers are given)."""
    from jobforge import __version__
    from jobforge.errors import AnswersError, UsageError
    from jobforge.files import make_output_directory

    from . import aftercare, generate
    from .copier_gen import ANSWERS_FILE
    from .model import default_bank
    from .template_cache import TemplateCache, default_cache_path, git_available
    from .validation import read_answers_file, validate_answers

    data = None
    bank = default_bank()
    validated = None
    if args.answers is None and not args.defaults and not sys.stdin.isatty():
        raise UsageError("no terminal to ask the questions in; pass --answers FILE or --defaults")
    if args.answers is not None:
        raw = read_answers_file(args.answers)
        try:
            validated = validate_answers(raw)
        except AnswersError as exc:
            print(f"{args.answers}: {len(exc.errors)} error(s); nothing generated")
            for error in exc.errors:
                print(f"  {one_line(error)}")
            return 1
        assert isinstance(raw, dict)
        data = raw
        notice = aftercare.spec_only_notice(aftercare.technology(bank, validated.queue_technology))
        if notice:
            print(notice, flush=True)
    make_output_directory(args.destination, "a project")
    cache = TemplateCache(default_cache_path(), __version__) if git_available() else None
    answers = generate.new_project(
        args.destination,
        generate.BundledTemplate(bank),
        data=data,
        defaults=args.defaults,
        overwrite=args.overwrite,
        cache=cache,
        validated=validated,
        bank=bank,
    )
    option = aftercare.technology(bank, answers.queue_technology)
    if data is None and (notice := aftercare.spec_only_notice(option)):
        print(notice)
    print(
        f"generated {args.destination} for {answers.queue_technology}; answers recorded in "
        f"{args.destination / ANSWERS_FILE}"
    )
    outcome = aftercare.first_commit(args.destination)
    if outcome.committed:
        print(f"git: initialized {args.destination} with a first commit, so copier update works")
    for advice in outcome.advice:
        print(f"note: {advice}")
    print("next steps:")
    for step in aftercare.next_steps(option, answers.package_name, args.destination):
        print(f"  {step}")
    return 0
