"""``jobforge soak``: a long fault campaign with a total-queue checker over the history ledger.

A soak submits many probe jobs of mixed types through any adapter while faults land on a
schedule drawn from a seed, drains, then accounts for every enqueued job and every effect
(completed, dead with its reason, lost, duplicated, unexpected) from the recorded history.
Modules: :mod:`.plan` (the seeded plan), :mod:`.injectors` (one fault kind each),
:mod:`.driver` (runs a plan), :mod:`.checker` (pure accounting), :mod:`.report` (JSON and the
terminal summary), :mod:`.timeline` (SVG), :mod:`.cli` (the subcommand).
"""

from __future__ import annotations

from .checker import Accounting, account
from .plan import FaultKind, SoakConfig, SoakPlan, make_plan

__all__ = ["Accounting", "FaultKind", "SoakConfig", "SoakPlan", "account", "make_plan"]
