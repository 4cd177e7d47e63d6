"""The jobforge pytest plugin (entry point ``pytest11: jobforge``).

pytest loads it in every session where jobforge is installed, so importing it costs nothing and
it does nothing unless asked:

``pytest --jobforge``
    runs the conformance checks as test items, one per check id (``jobforge::<check id>``):
    a pass passes, a fail fails with its evidence, an unsupported check is skipped and an
    inconclusive one errors. The adapter comes from ``--jobforge-adapter MODULE:ATTR``,
    ``--jobforge-reference [--jobforge-flaw NAME]`` or ``[tool.jobforge] adapter`` in the
    project's pyproject.toml; ``--jobforge-profile`` picks ci (default) or stress.
``pytest --jobforge-record PATH`` (or the environment variable ``JOBFORGE_RECORD=PATH``)
    records what the session's tests exercised: the job layer's calls to
    :mod:`jobforge.conformance.testing_hooks` go to a JSON-lines file named by
    ``JOBFORGE_RECORD_EVENTS`` (set for the session, inherited by worker processes), and when the
    session ends ``PATH`` receives a JSON summary: job types executed, failure paths
    exercised, brokers used, test counts and the exit status. Each test body is marked in the
    events file with the assertions it made (needs ``-o enable_assertion_pass_hook=true``), so
    only what a test body ran and then asserted about counts (see
    :mod:`jobforge.conformance.suite_record`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .suite_record import assertion_cannot_fail, read_events
from .testing_hooks import EVENTS_ENV, PYCACHE_ENV, append_event

if TYPE_CHECKING:
    from jobforge.rubric.results import RunResults

#: Environment variable that switches recording on, naming the summary file.
RECORD_ENV = "JOBFORGE_RECORD"


def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """When recording, rewrite test modules afresh: a cache without the assertion hook hides it.

    pytest bakes ``pytest_assertion_pass`` calls into rewritten modules and keeps them in
    ``__pycache__``; a rewrite cached by an earlier run without the hook would report no passing
    assertion. A private cache for this process alone (set before any conftest is imported)
    leaves worker processes and the project's own caches alone.
    """
    prefix = os.environ.get(PYCACHE_ENV)
    if prefix:
        sys.pycache_prefix = prefix


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--jobforge*`` options."""
    group = parser.getgroup("jobforge", "jobforge conformance kit")
    group.addoption("--jobforge", action="store_true", help="run the conformance checks as tests")
    group.addoption("--jobforge-adapter", metavar="MODULE:ATTR", help="adapter to score")
    group.addoption(
        "--jobforge-reference", action="store_true", help="score the reference implementation"
    )
    group.addoption(
        "--jobforge-flaw", action="append", default=[], metavar="NAME", help="reference flaw"
    )
    group.addoption("--jobforge-profile", default="ci", choices=("ci", "stress"))
    group.addoption(
        "--jobforge-record",
        metavar="PATH",
        help="record job types, failure paths and brokers the tests exercised into PATH (JSON)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Switch recording and/or the conformance items on when asked; otherwise do nothing."""
    record = config.getoption("jobforge_record") or os.environ.get(RECORD_ENV)
    if record:
        config.pluginmanager.register(_Recorder(Path(record)), "jobforge-recorder")
    if config.getoption("jobforge"):
        config.pluginmanager.register(_Conformance(config), "jobforge-conformance")


class _Body:
    """The call phase of one test: byte offsets into the events file, and its assertions."""

    def __init__(self, test: str, start: int) -> None:
        self.test = test
        self.start = start
        self.asserted_to: int | None = None  # file size at the last assertion that can fail
        self.assertions = 0
        self.empty: list[str] = []
        self.caught = False


class _Recorder:
    """Recording mode: point the hooks at an events file, mark each test body in it, summarise.

    For every test's call phase the recorder appends one ``test`` line: the events file's size
    when the body started and ended, and its size at the body's last assertion that can fail
    (a passing one, through ``pytest_assertion_pass``, or the one the body failed on).
    :mod:`jobforge.conformance.suite_record` turns these offsets into what the suite proved.
    Passing assertions are only reported when pytest runs with
    ``-o enable_assertion_pass_hook=true`` (the kit sets it); the ``session`` line says whether
    it was on, so a session that could not see its assertions is never judged by them.
    """

    def __init__(self, summary: Path) -> None:
        self.summary = summary
        self.previous = os.environ.get(EVENTS_ENV)
        self.events = Path(self.previous or f"{summary}.events.jsonl")
        self.counts = {"passed": 0, "failed": 0, "skipped": 0}
        self.body: _Body | None = None

    def _size(self) -> int:
        try:
            return self.events.stat().st_size
        except OSError:
            return 0

    def pytest_configure(self, config: pytest.Config) -> None:
        if self.previous is None:
            self.events.parent.mkdir(parents=True, exist_ok=True)
            self.events.write_text("", "utf-8")
            os.environ[EVENTS_ENV] = str(self.events)
        hook = bool(config.getini("enable_assertion_pass_hook"))
        append_event({"event": "session", "assertion_hook": hook})

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        body = self.body = _Body(item.nodeid, self._size())
        outcome = "passed"
        try:
            return (yield)
        except BaseException as exc:
            skipped = isinstance(exc, pytest.skip.Exception | pytest.xfail.Exception)
            outcome = "skipped" if skipped else "failed"
            if not skipped and isinstance(exc, AssertionError | pytest.fail.Exception):
                body.caught = True
                body.asserted_to = self._size()
            raise
        finally:
            self.body = None
            append_event(
                {
                    "event": "test",
                    "test": body.test,
                    "outcome": outcome,
                    "start": body.start,
                    "end": self._size(),
                    "asserted_to": body.asserted_to,
                    "assertions": body.assertions,
                    "empty_assertions": body.empty[:5],
                    "caught": body.caught,
                }
            )

    def pytest_assertion_pass(self, item: pytest.Item, lineno: int, orig: str, expl: str) -> None:
        body = self.body
        if body is None or body.test != item.nodeid:
            return  # an assertion in a fixture proves nothing about the test body
        if assertion_cannot_fail(orig):
            text = f"line {lineno}: assert {orig}"
            if text not in body.empty:
                body.empty.append(text)
            return
        body.assertions += 1
        body.asserted_to = self._size()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.counts[report.outcome] = self.counts.get(report.outcome, 0) + 1

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        document = {
            **read_events(self.events).to_json(),
            "tests": self.counts,
            "exitstatus": int(exitstatus),
        }
        self.summary.parent.mkdir(parents=True, exist_ok=True)
        self.summary.write_text(json.dumps(document, indent=2) + "\n", "utf-8")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.previous is None:
            os.environ.pop(EVENTS_ENV, None)


class CheckFailed(Exception):
    """A conformance check did not pass; the message is its evidence."""


class CheckSuite(pytest.Collector):
    """The parent node of the check items (node id ``jobforge``)."""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        """Return nothing: the items are added during collection by the plugin."""
        return []


class CheckItem(pytest.Item):
    """One conformance check as a test item."""

    def __init__(self, *, check_id: str, runner: _Conformance, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check_id = check_id
        self.runner = runner

    def runtest(self) -> None:
        results = self.runner.results(self.session)
        outcome = next((o for o in results.outcomes if o.check_id == self.check_id), None)
        if outcome is None:
            raise CheckFailed("the check did not run")
        evidence = "\n".join(outcome.evidence)
        verdict = outcome.outcome.value
        if verdict == "pass":
            return
        if verdict == "unsupported":
            pytest.skip(f"unsupported: {evidence}")
        raise CheckFailed(f"{verdict}: {evidence}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            return f"{self.check_id}: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name


class _Conformance:
    """``--jobforge``: add one item per check; run the kit once, on the first item."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._results: RunResults | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        from .checks import all_checks

        suite = CheckSuite.from_parent(session, name="jobforge")
        added = [
            CheckItem.from_parent(suite, name=check.check_id, check_id=check.check_id, runner=self)
            for check in all_checks()
        ]
        items.extend(added)
        # Report them as collected, so the terminal's "collected N items" counts them.
        report = pytest.CollectReport(
            nodeid=suite.nodeid, outcome="passed", longrepr=None, result=list(added)
        )
        config.hook.pytest_collectreport(report=report)

    def _adapter(self) -> Any:
        from .loading import adapter_spec_from_pyproject, load_adapter

        if self.config.getoption("jobforge_reference"):
            from .reference import ReferenceAdapter

            return ReferenceAdapter(frozenset(self.config.getoption("jobforge_flaw")))
        root = Path(self.config.rootpath)
        spec = self.config.getoption("jobforge_adapter") or adapter_spec_from_pyproject(root)
        return load_adapter(spec, search=root)

    def results(self, session: pytest.Session) -> RunResults:
        """Run the selected checks once and cache the results."""
        if self._results is None:
            from jobforge.errors import ConformanceError

            from .checks import registry
            from .runner import Runner, inconclusive_results

            wanted = [i.check_id for i in session.items if isinstance(i, CheckItem)]
            checks = [registry()[check_id] for check_id in wanted]
            profile = self.config.getoption("jobforge_profile")
            try:
                adapter = self._adapter()
            except ConformanceError as exc:
                self._results = inconclusive_results(str(exc), profile, checks)
            else:
                self._results = Runner(adapter, profile=profile, checks=checks).run()
        return self._results

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self._results is None:
            return
        card = self._results.scorecard()
        terminalreporter.write_sep("=", "jobforge conformance")
        for dimension in card.dimensions_run:
            terminalreporter.write_line(f"{dimension.dimension:<16} {dimension.display}/5")
        terminalreporter.write_line(f"total {card.total_display} ({card.verdict})")
