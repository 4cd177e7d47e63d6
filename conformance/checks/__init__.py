"""The conformance checks, one module per rubric dimension; :func:`registry` lists them all."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from . import concurrency, error_handling, idempotency, observability, scalability, scheduling
from . import testing as testing_checks
from .base import Check, Verdict

__all__ = ["Check", "Verdict", "all_checks", "registry"]


def all_checks() -> tuple[Check, ...]:
    """Every check in run order: dimension by dimension, as the rubric lists them."""
    return (
        idempotency.CHECKS
        + error_handling.CHECKS
        + observability.CHECKS
        + concurrency.CHECKS
        + scheduling.CHECKS
        + scalability.CHECKS
        + testing_checks.CHECKS
    )


def registry() -> Mapping[str, Check]:
    """Check id -> check, for every check id of the rubric."""
    return MappingProxyType({check.check_id: check for check in all_checks()})
