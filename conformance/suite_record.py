"""What an implementation's own test suite proved: events folded into a :class:`Recording`.

Two writers share one JSON-lines events file (``JOBFORGE_RECORD_EVENTS``, appended with
``O_APPEND``, so its byte order is the order the writes happened in):

* the job layer, through :mod:`jobforge.conformance.testing_hooks`: a job body about to run, a
  failure path taken, the broker a process uses (from any process: tests, workers, schedulers);
* the kit's pytest plugin: one ``session`` line, then one ``test`` line per test body (its call
  phase) giving byte offsets into the same file: where the body started and ended, and how far
  the file had grown at the body's last assertion that can fail.

The rule (the rubric reference states it too): an event **counts** for the suite when it was
written inside a test body and that body afterwards made an assertion that can fail, one that
passed or one that failed (a caught defect is the strongest proof of power). Events in fixtures,
in bodies that assert nothing afterwards, or followed only by assertions that cannot fail (a
constant, ``x == x``, a non-empty tuple) do not count. When test bodies overlap (tests run in
parallel) an event counts only if every body open around it asserted after it. A job's broker is
the last broker its own process recorded before the job, or else its parent's (a prefork pool's
children run jobs on the connection their parent set up).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

#: Failure paths the ``testing.failure_paths_exercised`` check looks for.
FAILURE_PATHS: Final = frozenset({"retry", "discard", "dead_letter", "timeout"})

_TAUTOLOGY_OPS = (ast.Eq, ast.Is, ast.LtE, ast.GtE)


def _always_true(node: ast.expr) -> bool:
    """Return True when ``node`` is true whatever the program does."""
    if isinstance(node, ast.Constant):
        return bool(node.value)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return bool(node.elts)  # `assert (x, "message")` is always true
    if isinstance(node, ast.Dict):
        return bool(node.keys)
    if isinstance(node, ast.BoolOp):
        truths = [_always_true(value) for value in node.values]
        return any(truths) if isinstance(node.op, ast.Or) else all(truths)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _always_false(node.operand)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        same = ast.dump(node.left) == ast.dump(node.comparators[0])
        return same and isinstance(node.ops[0], _TAUTOLOGY_OPS)
    return False


def _always_false(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return not node.value
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return not node.elts
    if isinstance(node, ast.Dict):
        return not node.keys
    return False


def assertion_cannot_fail(source: str) -> bool:
    """Return True when the asserted expression ``source`` cannot be false.

    It recognises constants, non-empty literal containers, ``x == x`` (and ``is``, ``<=``,
    ``>=``) and ``and`` / ``or`` / ``not`` of those. Anything it cannot parse counts as able to
    fail: the kit only refuses assertions it can prove empty.
    """
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return False
    return _always_true(tree.body)


@dataclass(frozen=True, kw_only=True)
class TestBody:
    """One test's call phase as the plugin saw it."""

    test: str  # pytest node id
    outcome: str  # passed, failed or skipped
    job_types: tuple[str, ...]  # job types whose bodies ran while the test body ran
    counted: bool  # every job it ran was followed by an assertion that can fail
    assertions: int  # assertions that can fail, passed
    empty_assertions: tuple[str, ...]  # assertions that cannot fail (their source)
    caught: bool  # the body failed on an assertion (or pytest.fail)


@dataclass(frozen=True, kw_only=True)
class Recording:
    """What a recorded test session exercised, counted by the rule in the module docstring."""

    job_types: frozenset[str] = frozenset()  # job types run and asserted about in a test body
    failure_paths: frozenset[str] = frozenset()  # failure paths likewise
    brokers: frozenset[tuple[str, bool]] = frozenset()  # (backend, real) of counted jobs
    seen_job_types: frozenset[str] = frozenset()  # job types run anywhere (fixtures included)
    seen_failure_paths: frozenset[str] = frozenset()
    seen_brokers: frozenset[tuple[str, bool]] = frozenset()
    tests: tuple[TestBody, ...] = ()
    sessions: int = 0  # pytest sessions the plugin recorded
    assertion_hook: bool = True  # False when a session ran without enable_assertion_pass_hook
    events: int = 0

    def to_json(self) -> dict[str, object]:
        """Return the JSON summary (sorted lists) written by the pytest plugin."""
        return {
            "job_types": sorted(self.job_types),
            "failure_paths": sorted(self.failure_paths),
            "brokers": [{"backend": b, "real": r} for b, r in sorted(self.brokers)],
            "seen_job_types": sorted(self.seen_job_types),
            "seen_failure_paths": sorted(self.seen_failure_paths),
            "seen_brokers": [{"backend": b, "real": r} for b, r in sorted(self.seen_brokers)],
            "test_bodies": len(self.tests),
            "caught": sorted(t.test for t in self.tests if t.caught),
            "events": self.events,
        }


@dataclass
class _Window:
    test: str
    start: int
    end: int
    asserted_to: int | None
    outcome: str
    assertions: int
    empty: tuple[str, ...]
    caught: bool
    jobs: list[tuple[int, str]] = field(default_factory=list)

    def holds(self, offset: int) -> bool:
        return self.start <= offset < self.end

    def asserted_after(self, offset: int) -> bool:
        return self.asserted_to is not None and offset < self.asserted_to


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _window(event: dict[str, Any]) -> _Window | None:
    start, end, test = _int(event.get("start")), _int(event.get("end")), event.get("test")
    if start is None or end is None or not isinstance(test, str):
        return None
    empty = event.get("empty_assertions", [])
    return _Window(
        test=test,
        start=start,
        end=end,
        asserted_to=_int(event.get("asserted_to")),
        outcome=str(event.get("outcome", "")),
        assertions=_int(event.get("assertions")) or 0,
        empty=tuple(str(e) for e in empty) if isinstance(empty, list) else (),
        caught=bool(event.get("caught", False)),
    )


def _parse(chunks: Iterable[bytes]) -> list[tuple[int, dict[str, Any]]]:
    """Return (byte offset, event) for every whole JSON object line, skipping torn ones."""
    parsed: list[tuple[int, dict[str, Any]]] = []
    offset = 0
    for chunk in chunks:
        start, offset = offset, offset + len(chunk)
        try:
            event = json.loads(chunk)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(event, dict):
            parsed.append((start, event))
    return parsed


def summarise_bytes(data: bytes) -> Recording:
    """Fold an events file's bytes into a :class:`Recording` (see the module docstring)."""
    events = _parse(data.splitlines(keepends=True))
    windows = [w for _, e in events if e.get("event") == "test" if (w := _window(e))]
    sessions = [e for _, e in events if e.get("event") == "session"]

    def counts(offset: int) -> bool:
        open_ = [w for w in windows if w.holds(offset)]
        return bool(open_) and all(w.asserted_after(offset) for w in open_)

    job_types: set[str] = set()
    paths: set[str] = set()
    brokers: set[tuple[str, bool]] = set()
    seen_jobs: set[str] = set()
    seen_paths: set[str] = set()
    seen_brokers: set[tuple[str, bool]] = set()
    broker_of: dict[object, tuple[str, bool]] = {}  # pid -> last broker it recorded
    for offset, event in events:
        kind = event.get("event")
        if kind == "broker" and isinstance(event.get("backend"), str):
            broker = (event["backend"], bool(event.get("real", True)))
            seen_brokers.add(broker)
            broker_of[event.get("pid")] = broker
        elif kind == "job" and isinstance(event.get("job_type"), str):
            seen_jobs.add(event["job_type"])
            for w in windows:
                if w.holds(offset):
                    w.jobs.append((offset, event["job_type"]))
            if counts(offset):
                job_types.add(event["job_type"])
                used = broker_of.get(event.get("pid")) or broker_of.get(event.get("ppid"))
                if used is not None:
                    brokers.add(used)
        elif kind == "failure_path" and event.get("path") in FAILURE_PATHS:
            seen_paths.add(event["path"])
            if counts(offset):
                paths.add(event["path"])
    tests = tuple(
        TestBody(
            test=w.test,
            outcome=w.outcome,
            job_types=tuple(sorted({job for _, job in w.jobs})),
            counted=all(counts(offset) for offset, _ in w.jobs),
            assertions=w.assertions,
            empty_assertions=w.empty,
            caught=w.caught,
        )
        for w in windows
    )
    return Recording(
        job_types=frozenset(job_types),
        failure_paths=frozenset(paths),
        brokers=frozenset(brokers),
        seen_job_types=frozenset(seen_jobs),
        seen_failure_paths=frozenset(seen_paths),
        seen_brokers=frozenset(seen_brokers),
        tests=tests,
        sessions=len(sessions),
        assertion_hook=all(bool(s.get("assertion_hook")) for s in sessions),
        events=len(events),
    )


def summarise(lines: Iterable[str]) -> Recording:
    """Fold JSON-lines events (one event a line, in file order) into a :class:`Recording`."""
    return summarise_bytes(b"".join(f"{line.rstrip(chr(10))}\n".encode() for line in lines))


def read_events(path: Path) -> Recording:
    """Summarise the events file at ``path`` (an empty recording when it does not exist)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Recording()
    return summarise_bytes(data)
