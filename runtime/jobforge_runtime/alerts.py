"""Alerts: dead letters, a dead-letter queue past its threshold, configuration errors.

Every alert goes to each sink: the ledger (shown by the CLI), the JSON log, a webhook (generic
JSON, Slack's ``text`` or PagerDuty Events v2), and email over SMTP. A sink never raises: a
failed delivery is logged.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from jobforge_runtime.ledger import StatsStore
from jobforge_runtime.logs import log_event
from jobforge_runtime.records import Alert
from jobforge_runtime.settings import Settings


class AlertSink(Protocol):
    """Somewhere an alert goes."""

    def send(self, alert: Alert) -> None:
        """Deliver one alert; never raise for a delivery failure."""


@dataclass(frozen=True)
class LedgerSink:
    """Record alerts in the ledger."""

    store: StatsStore

    def send(self, alert: Alert) -> None:
        """Record the alert."""
        self.store.add_alert(alert)


@dataclass(frozen=True)
class LogSink:
    """Write alerts to the JSON log as warnings."""

    logger: logging.Logger

    def send(self, alert: Alert) -> None:
        """Log the alert."""
        log_event(self.logger, "alert", alert.message, job_id=alert.job_id, status=alert.kind)


def webhook_body(alert: Alert, *, style: str, routing_key: str = "") -> dict[str, Any]:
    """Return the JSON body of ``alert`` for a generic, Slack or PagerDuty (Events v2) webhook."""
    if style == "slack":
        return {"text": f":rotating_light: {alert.message}"}
    if style == "pagerduty":
        return {
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": f"{alert.kind}:{alert.job_id or ''}",
            "payload": {
                "summary": alert.message[:1024],
                "source": "jobforge-runtime",
                "severity": "error" if alert.kind != "dlq_threshold" else "warning",
                "custom_details": {"kind": alert.kind, "job_id": alert.job_id, **alert.details},
            },
        }
    return {"text": alert.message, **asdict(alert)}


@dataclass(frozen=True)
class WebhookSink:
    """POST alerts as JSON to a webhook URL (a secret, kept in the environment)."""

    url: str
    logger: logging.Logger
    style: str = "generic"
    routing_key: str = ""
    timeout_s: float = 5.0

    def send(self, alert: Alert) -> None:
        """POST the alert; log, never raise, when delivery fails."""
        body = json.dumps(webhook_body(alert, style=self.style, routing_key=self.routing_key))
        request = urllib.request.Request(
            self.url, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s):
                pass
        except OSError as exc:
            self.logger.warning("alert webhook delivery failed: %s", exc)


@dataclass(frozen=True)
class EmailSink:
    """Send alerts by email through the SMTP server in the settings."""

    settings: Settings
    logger: logging.Logger
    timeout_s: float = 10.0

    def send(self, alert: Alert) -> None:
        """Send one message; log, never raise, when delivery fails."""
        s = self.settings
        message = EmailMessage()
        message["Subject"] = f"[jobs] {alert.kind}: {alert.message[:120]}"
        message["From"] = s.alert_email_from or f"jobs@{s.smtp_host}"
        message["To"] = ", ".join(s.alert_email_to)
        message.set_content(json.dumps(asdict(alert), indent=2, default=str))
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self.timeout_s) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            self.logger.warning("alert email delivery failed: %s", exc)


@dataclass(frozen=True)
class Alerter:
    """Fan an alert out to every sink."""

    sinks: Sequence[AlertSink]

    def send(self, alert: Alert) -> None:
        """Deliver ``alert`` to every sink."""
        for sink in self.sinks:
            sink.send(alert)


def alerter_for(settings: Settings, store: StatsStore, logger: logging.Logger) -> Alerter:
    """Return the alerter the settings ask for: ledger and log, plus webhook and email if set."""
    sinks: list[AlertSink] = [LedgerSink(store), LogSink(logger)]
    if settings.alert_webhook_url:
        sinks.append(
            WebhookSink(
                settings.alert_webhook_url,
                logger,
                style=settings.alert_webhook_format,
                routing_key=settings.pagerduty_routing_key,
            )
        )
    if settings.smtp_host and settings.alert_email_to:
        sinks.append(EmailSink(settings, logger))
    return Alerter(sinks)
