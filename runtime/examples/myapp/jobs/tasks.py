"""The jobs: typed payloads, declared by decorator."""

from pydantic import BaseModel, Field

from jobforge_runtime import JobContext, job


class WelcomeEmail(BaseModel):
    """Payload of ``emails.send_welcome``."""

    user_id: int = Field(ge=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")


@job(
    "emails.send_welcome",
    payload=WelcomeEmail,
    priority=5,
    max_attempts=5,
    timeout_s=30,
    idempotency_key=lambda p: str(p.user_id),
)
def send_welcome(ctx: JobContext, payload: WelcomeEmail) -> None:
    """Send the welcome email of a new user, once."""
    if ctx.claim_effect(f"welcome:{payload.user_id}"):  # a retry or a replay skips it
        pass  # send it here; raise TransientError to retry, PermanentError to dead-letter


class PurgeRun(BaseModel):
    """Payload of ``uploads.purge_old``: the schedule tick it runs for."""

    tick: float


@job("uploads.purge_old", payload=PurgeRun)
def purge_old_uploads(ctx: JobContext, payload: PurgeRun) -> None:
    """Delete uploads older than 30 days."""
