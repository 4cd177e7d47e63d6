"""The reference's catalogue and description (the only selftests that run no job)."""

from __future__ import annotations

import pytest
from jobforge.conformance import probes
from jobforge.conformance.adapter import Capability, Timing
from jobforge.conformance.reference import FLAWS, ReferenceAdapter

from jobforge.errors import UsageError


def test_catalogue_lists_every_probe_type_with_the_kit_policies() -> None:
    description = ReferenceAdapter().describe()
    assert tuple(spec.name for spec in description.jobs) == probes.PROBE_TYPES
    assert description.jobs == probes.probe_catalogue(Timing())
    default = description.job(probes.PROBE_DEFAULT)
    assert default.max_attempts == Timing().max_attempts
    assert default.timeout_s == Timing().timeout_s


def test_catalogue_declares_capabilities_but_no_real_broker() -> None:
    description = ReferenceAdapter().describe()
    assert Capability.RETRIES in description.capabilities
    assert Capability.BROKER_RESTART not in description.capabilities
    assert description.real_broker is False
    assert description.backend == "in-process"


def test_catalogue_of_flaws_rejects_an_unknown_name() -> None:
    with pytest.raises(UsageError, match="'no_such_flaw'") as error:
        ReferenceAdapter(frozenset({"no_such_flaw"}))
    for name in FLAWS:
        assert name in str(error.value)
