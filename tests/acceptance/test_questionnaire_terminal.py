"""The prompts as a person sees them in an 80-column terminal: nothing cut at the edge.

``jobforge new`` runs in a pseudo-terminal; its output feeds a terminal emulator (pyte), and the
screen is read at every question. prompt_toolkit cuts a line at the right edge rather than
wrapping it, so a line that reaches the edge has lost its end.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pyte
import pytest
from jobforge.questionnaire import Answers, answer_errors, load_answers, load_bank
from jobforge.questionnaire.copier_gen import ANSWERS_FILE, wrap

pytestmark = pytest.mark.acceptance

BANK = load_bank()
COLUMNS, ROWS = 80, 120
ENTER, CLEAR = "\r", "\x15"


class Terminal:
    """A child process in a pseudo-terminal, with the screen it has drawn so far."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.Stream(self.screen)
        env = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm", NO_COLOR="1")
        self.log = log.open("w")
        self.child = pexpect.spawn(
            argv[0], argv[1:], env=env, dimensions=(ROWS, COLUMNS), encoding="utf-8", timeout=60
        )
        self.child.logfile_read = self

    def close(self) -> None:
        """End the child (if it still runs) and close the transcript; safe to call twice."""
        if not self.log.closed:
            self.child.close(force=True)
            self.log.close()

    def write(self, data: str) -> None:
        """Receive the child's output (pexpect's log hook): draw it and keep a transcript."""
        self.stream.feed(data)
        self.log.write(data)

    def flush(self) -> None:
        """Flush the transcript (pexpect's log hook)."""
        self.log.flush()

    def expect(self, text: str) -> None:
        """Wait until ``text`` was drawn and the drawing has stopped."""
        self.child.expect(re.escape(text))
        while True:
            try:
                self.child.read_nonblocking(65536, timeout=0.5)
            except pexpect.TIMEOUT:
                return

    def send(self, keys: str) -> None:
        """Type ``keys``."""
        self.child.send(keys)

    def lines_cut_at_the_edge(self) -> list[str]:
        """Screen lines that reach the last two columns: prompt_toolkit cut them there.

        Help is wrapped to 76 columns after a two-column marker, so only a line that was longer
        than the terminal (and lost its end) comes this close to the edge.
        """
        return [line.rstrip() for line in self.screen.display if line[-2:] != "  "]


@pytest.fixture
def jobforge_new(tmp_path: Path) -> Iterator[Terminal]:
    """``jobforge new`` into ``tmp_path / "app"``, in a terminal closed after the test."""
    terminal = Terminal(
        [sys.executable, "-m", "jobforge", "new", str(tmp_path / "app")], tmp_path / "log"
    )
    yield terminal
    terminal.close()


@pytest.mark.timeout(240)
def test_no_prompt_help_or_disabled_choice_is_cut_at_80_columns(
    tmp_path: Path, jobforge_new: Terminal
) -> None:
    destination = tmp_path / "app"
    terminal = jobforge_new
    defaults = Answers.model_validate({})
    asked = [
        q
        for q in BANK.questions
        if q.ask_when is None or q.ask_when.holds(getattr(defaults, q.ask_when.key))
    ]  # every part's recommended settings are declined below, so all the rest is asked
    for question in asked:
        terminal.expect(wrap(question.prompt)[0])
        cut = terminal.lines_cut_at_the_edge()
        assert cut == [], f"{question.key}: lines cut at column {COLUMNS}: {cut}"
        if question.key == "scheduler_tool":  # its select list shows disabled choices, wrapped
            screen = "\n".join(line.rstrip() for line in terminal.screen.display)
            assert "- Celery Beat (scheduling.scheduler_tool: celery_beat works only" in screen
        terminal.send("n" if question.covers else ENTER)
    terminal.child.expect(pexpect.EOF, timeout=120)
    terminal.close()
    assert terminal.child.exitstatus == 0
    load_answers(destination / ANSWERS_FILE)


def _answer_until(terminal: Terminal, key: str) -> None:
    """Take every default (declining recommended settings) until ``key`` is asked."""
    for question in BANK.questions:
        terminal.expect(wrap(question.prompt)[0])
        if question.key == key:
            return
        terminal.send("n" if question.covers else ENTER)
    raise AssertionError(f"{key} was never asked")


def _toolbar(terminal: Terminal, first_words: str) -> str:
    """Return the message on screen starting with ``first_words``, its lines joined."""
    lines = [line.rstrip() for line in terminal.screen.display]
    start = next(i for i, line in enumerate(lines) if line.startswith(first_words))
    message = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("  ") or not line.strip():
            break
        message.append(line.strip())
    return " ".join(message)


@pytest.mark.timeout(120)
def test_a_validation_message_at_the_prompt_is_whole_and_not_cut_at_80_columns(
    jobforge_new: Terminal,
) -> None:
    terminal = jobforge_new
    _answer_until(terminal, "worker_count")
    terminal.send(CLEAR + "0" + ENTER)  # out of range: the validator speaks
    (expected,) = answer_errors({"worker_count": 0}, BANK)
    terminal.expect(expected.split(";")[0])
    assert terminal.lines_cut_at_the_edge() == []
    assert _toolbar(terminal, "worker_architecture.worker_count:") == expected
    assert "Validation error for question" not in "\n".join(terminal.screen.display)


@pytest.mark.timeout(120)
def test_an_answer_copier_cannot_parse_gets_the_answers_check_line(
    jobforge_new: Terminal,
) -> None:
    terminal = jobforge_new
    _answer_until(terminal, "worker_count")
    terminal.send(CLEAR + "abc" + ENTER)  # not a number: copier alone says "Invalid input"
    (expected,) = answer_errors({"worker_count": "abc"}, BANK)
    terminal.expect(expected.split(";")[0])
    assert _toolbar(terminal, "worker_architecture.worker_count:") == expected
    terminal.send(CLEAR + "2" + ENTER)
    terminal.expect(wrap(BANK.question("worker_concurrency").prompt)[0])
    terminal.send(ENTER)
    terminal.expect(wrap(BANK.question("queues").prompt)[0])
    terminal.send(CLEAR + "[default" + ENTER)  # a YAML syntax error
    (expected,) = answer_errors({"queues": "[default"}, BANK)
    terminal.expect(expected.split(";")[0])
    assert _toolbar(terminal, "worker_architecture.queues:") == expected
    screen = "\n".join(terminal.screen.display)
    assert "Invalid input" not in screen
    assert terminal.lines_cut_at_the_edge() == []
