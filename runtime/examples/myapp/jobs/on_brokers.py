"""The example App on RabbitMQ (Celery) and on SQS: the same jobs, another backend.

The URLs come from the environment: ``JOBS_BROKER_URL=amqp://...`` or ``sqs://``, and
``JOBS_LEDGER_URL`` (PostgreSQL or Redis) for the ledger, which neither broker keeps.
"""

from jobforge_runtime import App
from myapp.jobs.app import app

amqp_app = App(
    settings=app.base_settings,
    catalogue=app.catalogue,
    schedules=app.schedules,
    backend="celery_amqp",
)
sqs_app = App(
    settings=app.base_settings,
    catalogue=app.catalogue,
    schedules=app.schedules,
    backend="sqs",
)
