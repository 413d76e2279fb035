from celery import shared_task

from billing_portal.subscriptions.jobs import JOBS, run_job


@shared_task(acks_late=True, ignore_result=True)
def run_billing_job(name: str) -> str:
    """What beat schedules: one billing job over every due org (schedules are editable in admin)."""
    if name not in JOBS:
        raise ValueError(f"Unknown billing job {name!r}")
    return run_job(name).outcome
