"""The testing dimension measures a generated project's own suite by its power, not its colour.

On copies of the project generated from ``examples/answers/sqlite.yml`` (only the testing checks
run, ``jobforge score --check testing``):

* with every ``assert`` of its tests removed by an AST rewrite, or every test body replaced by
  ``pass``, the suite still passes but scores below 5 in testing;
* a defect its tests catch (the welcome email accepts user id 0: a test's assertion fails) scores
  no lower in testing than a defect they miss (the email is sent again on every retry: no test
  looks), and the red suite is reported as the failed gate ``testing.suite_green``, which fails
  the project's policy.

The project's own worker tests are timing-sensitive under heavy load, so nothing here depends on
a variant's suite being green except through the defect it plants.
"""

from __future__ import annotations

import ast
import json
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from generated_support import BIN, GeneratedProjects, project_env, run

pytestmark = pytest.mark.acceptance

TASKS = Path("jobs") / "tasks.py"
#: A line of the generated jobs the project's tests check, and one they do not, with its defect.
CHECKED = ("user_id: int = Field(ge=1)", "user_id: int = Field(ge=0)")
UNCHECKED = (
    'if ctx.claim_effect(f"welcome-email:{payload.user_id}"):',
    "if True:  # the effect guard dropped: a retry sends the email again",
)


class _StripAsserts(ast.NodeTransformer):
    def visit_Assert(self, node: ast.Assert) -> ast.Pass:
        return ast.copy_location(ast.Pass(), node)


class _EmptyTestBodies(ast.NodeTransformer):
    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        if node.name.startswith("test_"):
            node.body = [ast.copy_location(ast.Pass(), node.body[0])]
        return node


def rewrite_tests(project: Path, transformer: ast.NodeTransformer) -> int:
    """Apply ``transformer`` to every Python file of the project's tests; return files changed."""
    changed = 0
    for path in sorted((project / "tests").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.fix_missing_locations(transformer.visit(ast.parse(source)))
        text = ast.unparse(tree) + "\n"
        if text != ast.unparse(ast.parse(source)) + "\n":
            changed += 1
        path.write_text(text, encoding="utf-8")
    return changed


def plant(project: Path, change: tuple[str, str]) -> None:
    """Replace the one line ``change[0]`` of the project's jobs by ``change[1]`` (a defect)."""
    line, defect = change
    path = project / TASKS
    source = path.read_text(encoding="utf-8")
    assert source.count(line) == 1, f"{TASKS} no longer has {line!r}; update the defect"
    path.write_text(source.replace(line, defect), encoding="utf-8")


@dataclass(frozen=True)
class SuiteScore:
    """What ``jobforge score --check testing --policy jobforge-policy.yml`` said."""

    returncode: int
    level: int | None
    outcomes: dict[str, str]
    evidence: dict[str, list[str]]
    output: str


def score_testing(project: Path) -> SuiteScore:
    """Run only the testing checks in ``project`` under its own policy."""
    out = project / "testing.json"
    done = run(
        [
            BIN / "jobforge",
            "score",
            "--check",
            "testing",
            "--no-progress",
            "--json",
            out,
            "--policy",
            "jobforge-policy.yml",
        ],
        project,
        env=project_env(project),
    )
    output = f"{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    assert out.is_file(), output
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    testing = next(d for d in data["scorecard"]["dimensions"] if d["dimension"] == "testing")
    tested = [o for o in data["outcomes"] if o["check_id"].startswith("testing.")]
    return SuiteScore(
        returncode=done.returncode,
        level=testing["level"],
        outcomes={o["check_id"]: o["outcome"] for o in tested},
        evidence={o["check_id"]: o["evidence"] for o in tested},
        output=output,
    )


VARIANTS: dict[str, Callable[[Path], None]] = {
    "as generated": lambda project: None,
    "asserts stripped": lambda project: assert_changed(rewrite_tests(project, _StripAsserts())),
    "bodies emptied": lambda project: assert_changed(rewrite_tests(project, _EmptyTestBodies())),
    "caught defect": lambda project: plant(project, CHECKED),
    "missed defect": lambda project: plant(project, UNCHECKED),
}


def assert_changed(files: int) -> None:
    """Fail when a rewrite changed nothing (the test would prove nothing)."""
    assert files > 0, "the AST rewrite changed no test file"


@pytest.fixture(scope="module")
def scores(
    tmp_path_factory: pytest.TempPathFactory, generated_projects: GeneratedProjects
) -> dict[str, SuiteScore]:
    """Score a changed copy of the shared SQLite project per variant, two at a time."""
    base = tmp_path_factory.mktemp("testing-power")
    generated = generated_projects.get("sqlite")

    def variant(name: str) -> SuiteScore:
        copy = base / name.replace(" ", "-")
        shutil.copytree(generated, copy, ignore=shutil.ignore_patterns("__pycache__", ".*_cache"))
        VARIANTS[name](copy)
        return score_testing(copy)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(VARIANTS, pool.map(variant, VARIANTS), strict=True))


def test_the_generated_suite_as_is_scores_5_in_testing(scores: dict[str, SuiteScore]) -> None:
    score = scores["as generated"]
    assert score.level == 5, score.output


@pytest.mark.parametrize("name", ["asserts stripped", "bodies emptied"])
def test_a_green_suite_that_asserts_nothing_scores_below_5(
    scores: dict[str, SuiteScore], name: str
) -> None:
    score = scores[name]
    assert score.level is not None and score.level < 5, score.output
    assert score.outcomes["testing.asserts_what_ran"] == "fail", score.evidence


def test_emptied_test_bodies_do_not_count_the_fixtures_broker(
    scores: dict[str, SuiteScore],
) -> None:
    score = scores["bodies emptied"]
    assert score.outcomes["testing.real_broker_used"] == "fail", score.evidence
    assert "brokers used anywhere: sqlite+huey" in score.evidence["testing.real_broker_used"][0]


def test_a_caught_defect_scores_no_lower_in_testing_than_a_missed_one(
    scores: dict[str, SuiteScore],
) -> None:
    caught, missed = scores["caught defect"], scores["missed defect"]
    assert caught.outcomes["testing.suite_green"] == "fail", caught.output
    assert caught.level is not None and missed.level is not None
    assert caught.level >= missed.level, (caught.evidence, missed.evidence)


def test_a_red_suite_fails_the_policy_gate_and_says_what_it_caught(
    scores: dict[str, SuiteScore],
) -> None:
    caught = scores["caught defect"]
    assert caught.returncode == 1, caught.output
    assert "policy below: gate testing.suite_green failed" in caught.output
    assert any(
        "test_an_invalid_payload_is_refused_naming_the_field" in line and "caught a defect" in line
        for line in caught.evidence["testing.suite_green"]
    ), caught.evidence
