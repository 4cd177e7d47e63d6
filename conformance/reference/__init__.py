"""The in-process reference implementation of the conformance kit's adapter contract.

A small but complete job system (threads, no services) that scores 35/35, with switchable named
flaws that each cost exactly one rubric dimension::

    from jobforge.conformance.reference import FLAWS, ReferenceAdapter

    clean = ReferenceAdapter()
    flawed = ReferenceAdapter(frozenset({"no_backoff"}))
"""

from __future__ import annotations

from .adapter import ReferenceAdapter
from .flaws import FLAWS

__all__ = ["FLAWS", "ReferenceAdapter"]
