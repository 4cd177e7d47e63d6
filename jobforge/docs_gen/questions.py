"""The question reference page, generated from the question bank."""

from __future__ import annotations

from jobforge.docs_gen.markdown import cell, code, table
from jobforge.docs_gen.sources import BankLike, QuestionLike


def _constraints(question: QuestionLike) -> list[str]:
    parts: list[str] = []
    if question.min is not None:
        low = f"{question.min:g}"
        parts.append(f"more than {low}" if question.min_exclusive else f"at least {low}")
    if question.max is not None:
        parts.append(f"at most {question.max:g}")
    if question.min_items:
        parts.append(f"at least {question.min_items} item(s)")
    return parts


def _question(question: QuestionLike) -> list[str]:
    lines = [f"### `{question.key}`", "", f"**{cell(question.prompt)}**", ""]
    if question.help:
        lines += [cell(question.help), ""]
    facts: list[tuple[str, str]] = [("kind", code(question.kind))]
    if question.default_from is not None:
        source = question.default_from
        how = f"the `{source.option_field}` of the chosen option" if source.option_field else ""
        how = how or (f"{source.factor} x the answer" if source.factor else "the answer")
        facts.append(("default", f"{how} to `{source.key}`"))
    else:
        facts.append(("default", code(question.default)))
    constraints = _constraints(question)
    if constraints:
        facts.append(("allowed", ", ".join(constraints)))
    if question.ask_when is not None:
        facts.append(("asked when", f"`{question.ask_when.key}` is `{question.ask_when.equals}`"))
    if question.rules:
        facts.append(("cross-field rules", ", ".join(f"`{rule}`" for rule in question.rules)))
    fills = ", ".join(f"`{fill.doc}` ({fill.section})" for fill in question.fills)
    facts.append(("fills", fills or "none"))
    lines += table(["", ""], facts)
    if question.options:
        lines += ["", "Options:", ""]
        rows = [
            (
                f"`{o.value}`",
                o.label,
                o.pros,
                o.cons,
                o.best_for,
                ", ".join(f"`{b}`" for b in o.backends) or "any",
            )
            for o in question.options
        ]
        lines += table(["value", "label", "pros", "cons", "best for", "works with"], rows)
        generated = [o for o in question.options if o.generated]
        if generated:
            code_for = ", ".join(f"`{o.value}`" for o in generated if o.generated == "subsystem")
            lines += [
                "",
                f"A job subsystem is generated for {code_for}; the others get the "
                "filled spec documents only.",
            ]
            lines += [
                f"`{o.value}` is spec documents only: {o.spec_only_reason}."
                for o in generated
                if o.generated == "spec_only" and o.spec_only_reason
            ]
    return [*lines, ""]


def question_reference_markdown(bank: BankLike) -> str:
    """Render every group, question and option of ``bank`` as one Markdown page."""
    count = len(bank.questions)
    lines = [
        "# Question reference",
        "",
        f"The {count} questions jobforge asks, in the order it asks them, generated from the "
        "question bank (`questionnaire/questions.yaml` and `questionnaire/decision_tree.yaml`). "
        "Each answer key is a copier variable and a field of the answers model; **fills** names "
        "the sections of the generated spec documents the answer fills.",
        "",
        "## Job types: the decision tree",
        "",
        f"*{cell(bank.decision_tree.question)}* (the `job_types` answer; choose every one that "
        "applies)",
        "",
    ]
    lines += table(
        ["value", "job type", "when", "pattern", "example"],
        [
            (f"`{j.value}`", j.label, j.when, j.pattern, j.example)
            for j in bank.decision_tree.job_types
        ],
    )
    lines.append("")
    for group in bank.groups:
        lines += [f"## {group.title}", ""]
        for question in group.questions:
            lines += _question(question)
    return "\n".join(lines)
