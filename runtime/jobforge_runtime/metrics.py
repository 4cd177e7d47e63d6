"""Prometheus metrics, collected from the ledger at scrape time (shared by every process)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from jobforge_runtime.ledger import DURATION_BUCKETS
from jobforge_runtime.runtime import Runtime

COUNTERS = {
    "jobs_enqueued_total": "Jobs recorded and queued.",
    "jobs_started_total": "Attempts started.",
    "jobs_completed_total": "Jobs completed.",
    "jobs_attempts_failed_total": "Attempts that failed (each failed attempt counts).",
    "jobs_retried_total": "Retries scheduled.",
    "jobs_dead_total": "Jobs moved to the dead-letter queue.",
    "jobs_failed_total": "Jobs failed for good with the dead-letter queue turned off.",
    "jobs_recovered_total": "Jobs taken back from a worker that died.",
    "schedule_skipped_total": "Schedule ticks skipped because the previous run was active.",
}


class LedgerCollector(Collector):
    """Collect job counters, durations and gauges from the ledger."""

    def __init__(self, runtime: Runtime) -> None:
        """Collect from ``runtime``'s ledger."""
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family."""
        ledger = self.runtime.ledger
        counters = ledger.counters()
        for name, help_text in COUNTERS.items():
            label = "schedule" if name.startswith("schedule") else "job_type"
            family = CounterMetricFamily(name.removesuffix("_total"), help_text, labels=[label])
            for (counter, value_label), value in sorted(counters.items()):
                if counter == name:
                    family.add_metric([value_label], value)
            yield family
        histogram = HistogramMetricFamily(
            "job_duration_seconds", "Attempt durations.", labels=["job_type"]
        )
        for job_type, buckets in sorted(ledger.durations().items()):
            running, total, cumulative = 0, 0.0, []
            for bound in DURATION_BUCKETS:
                n, seconds = buckets.get(bound, (0, 0.0))
                running += n
                total += seconds
                cumulative.append(("+Inf" if bound == float("inf") else str(bound), running))
            histogram.add_metric([job_type], cumulative, total)
        yield histogram
        gauges = ledger.gauges()
        yield GaugeMetricFamily("queue_depth", "Jobs waiting to run.", value=gauges["queue_depth"])
        yield GaugeMetricFamily("jobs_running", "Jobs running now.", value=gauges["running"])
        yield GaugeMetricFamily(
            "dlq_size", "Jobs in the dead-letter queue.", value=gauges["dlq_size"]
        )
        since = self.runtime.clock() - self.runtime.settings.worker_alive_s
        yield GaugeMetricFamily(
            "workers_alive", "Workers seen recently.", value=len(ledger.live_workers(since=since))
        )


def registry_for(runtime: Runtime) -> CollectorRegistry:
    """Return a registry holding the ledger collector (no process-global registry)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(runtime))
    return registry


def exposition(runtime: Runtime) -> bytes:
    """Return the Prometheus text exposition of ``runtime``'s metrics."""
    return generate_latest(registry_for(runtime))
