"""How copier's prompts speak while ``jobforge new`` asks: whole messages, wrapped to the terminal.

Copier asks with questionary, which draws a validator's message in prompt_toolkit's validation
toolbar: a window one line high that cuts the message at the terminal edge. An answer that does
not parse as the question's copier type (``abc`` for a number, ``[default`` for a list) never
reaches the validator: copier answers it with a bare "Invalid input".

:func:`speaking_prompts` changes both for the duration of one ``copier.run_copy``: the toolbar
wraps the message at spaces to the terminal width and grows to fit it, and every message is the
line ``jobforge answers check`` prints for the same value (field, value, fix), without copier's
"Validation error for question ..." prefix, which only repeats the field. A multiple-choice list
shows the message in its own bottom bar, as it is, so the message comes already wrapped to the
terminal. Plain ``copier copy`` keeps copier's own behaviour.
"""

from __future__ import annotations

import importlib
import re
import shutil
import textwrap
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import yaml

from .bank import Bank, Question
from .checks import show
from .evaluate import answer_problems

#: Copier's prefix before a validator's message; the message names the question itself.
COPIER_PREFIX = re.compile(r"^Validation error for question '\w+': ")
#: What copier says when an answer does not parse as the question's type.
COPIER_INVALID = "Invalid input"
#: Wrapped lines stay this far from the right edge (a line reaching it looks cut).
MARGIN = 2
#: Never wider than copier.yml's help text, however wide the terminal.
MAX_WIDTH = 76

Validate = Callable[[Any], "str | bool"]


def wrap_message(message: str, columns: int) -> str:
    """Wrap each line of ``message`` at spaces to fit ``columns`` (never inside a word)."""
    width = max(20, min(MAX_WIDTH, columns - MARGIN))
    lines: list[str] = []
    for line in message.splitlines() or [""]:
        lines.extend(
            textwrap.wrap(
                line, width, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False
            )
            or [""]
        )
    return "\n".join(lines)


def unparsable_message(bank: Bank, question: Question, text: str) -> str:
    """Return ``answers check``'s line for a prompt answer that copier cannot parse.

    The text is read as YAML, as an answers file would be; text that is not valid YAML is
    judged as the string it is (for a list question: "... is a string, not a list").
    """
    try:
        value: object = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    problems = answer_problems(bank, question, value)
    if problems:
        return problems[0]
    # Valid YAML for the model, but not how copier reads the type (e.g. 0x10 for a number).
    example = f", e.g. {show(question.default)}" if question.default is not None else ""
    return f"{question.path}: {show(text)} is not written plainly; write it in digits{example}"


def speaking_validator(bank: Bank, question: Question, validate: Validate) -> Validate:
    """Wrap copier's questionary ``validate`` so its messages are ``answers check``'s lines."""

    def check(answer: Any) -> str | bool:
        verdict = validate(answer)
        if verdict is True or not isinstance(verdict, str):
            return verdict
        if verdict == COPIER_INVALID:
            message = unparsable_message(bank, question, str(answer))
        else:
            message = COPIER_PREFIX.sub("", verdict)
        # A select list shows the message as it is in its bottom bar, so it comes wrapped.
        return wrap_message(message, shutil.get_terminal_size().columns)

    return check


def adapt_structure(bank: Bank, structure: Mapping[str, Any]) -> dict[str, Any]:
    """Return copier's questionary structure for one question with a speaking validator."""
    adapted = dict(structure)
    key = adapted.get("name")
    if "validate" in adapted and isinstance(key, str) and key in bank.by_key:
        adapted["validate"] = speaking_validator(bank, bank.question(key), adapted["validate"])
    return adapted


def _wrapping_toolbar_class() -> type:
    from prompt_toolkit.application.current import get_app
    from prompt_toolkit.filters import has_validation_error
    from prompt_toolkit.formatted_text import StyleAndTextTuples
    from prompt_toolkit.layout import ConditionalContainer, FormattedTextControl, Window

    class WrappingValidationToolbar:
        """prompt_toolkit's validation toolbar, wrapping the message at spaces to the width."""

        def __init__(self, show_position: bool = False) -> None:
            def text() -> StyleAndTextTuples:
                app = get_app()
                error = app.current_buffer.validation_error
                if error is None:
                    return []
                columns = app.output.get_size().columns
                return [("class:validation-toolbar", wrap_message(error.message, columns))]

            self.container = ConditionalContainer(
                content=Window(FormattedTextControl(text), dont_extend_height=True),
                filter=has_validation_error,
            )

        def __pt_container__(self) -> ConditionalContainer:
            return self.container

    return WrappingValidationToolbar


@contextmanager
def speaking_prompts(bank: Bank) -> Iterator[None]:
    """While inside, copier's prompts give wrapped ``answers check`` lines for bad answers."""
    # The package exports a function named prompt, which hides the module of the same name.
    prompt_module = importlib.import_module("prompt_toolkit.shortcuts.prompt")
    copier_main = importlib.import_module("copier._main")

    ask = copier_main.__dict__["unsafe_prompt"]
    toolbar = prompt_module.__dict__["ValidationToolbar"]

    def prompt(questions: list[Mapping[str, Any]], *args: Any, **kwargs: Any) -> Any:
        return ask([adapt_structure(bank, q) for q in questions], *args, **kwargs)

    setattr(copier_main, "unsafe_prompt", prompt)  # noqa: B010 - names mypy cannot see
    setattr(prompt_module, "ValidationToolbar", _wrapping_toolbar_class())  # noqa: B010
    try:
        yield
    finally:
        setattr(copier_main, "unsafe_prompt", ask)  # noqa: B010
        setattr(prompt_module, "ValidationToolbar", toolbar)  # noqa: B010
