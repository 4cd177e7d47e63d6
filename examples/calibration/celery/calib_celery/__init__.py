"""A Celery app configured as Celery's "First steps" guide configures one (Redis broker)."""
