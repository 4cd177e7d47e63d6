"""The conformance kit: drive any job-queue implementation and score it on the 35-point rubric.

Modules, from the contract inwards:

* :mod:`.adapter` — the Protocol an implementation's adapter satisfies, and the value types;
* :mod:`.probes` — the probe job types every implementation registers, and ``run_probe``;
* :mod:`.history` — the SQLite (WAL) ledger probes write from any process, read back as a
  frozen ``History``;
* :mod:`.checkers` — pure functions over a ``History`` (lost jobs, duplicated effects, retry
  gaps, overlaps, high-water marks, drift, start order);
* :mod:`.tolerance` — every timing tolerance, derived from the declared timing facts;
* :mod:`.env`, :mod:`.faults`, :mod:`.processes` — what a check works with, the faults the kit
  injects and verifies, and the signals it sends to worker process trees;
* :mod:`.checks` — one module per rubric dimension; ``checks.registry()`` maps every check id;
* :mod:`.runner`, :mod:`.profiles`, :mod:`.loading`, :mod:`.cli` — ``jobforge score``;
* :mod:`.catalogue` — ``jobforge checks``, the check catalogue in the terminal;
* :mod:`.machine` — a hypothesis state machine for random fault campaigns;
* :mod:`.plugin`, :mod:`.testing_hooks` — the pytest plugin and the test-recording hooks;
* :mod:`.reference` — the in-process reference implementation with switchable flaws.

See ``README.md`` next to this file for adapter authors.
"""
