"""A real Celery worker process on the real Redis broker, pointed at the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from celery import Celery
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def celery_worker(*, extra_env: dict[str, str] | None = None) -> Iterator[tuple[Celery, str]]:
    """Start a worker on a queue of its own; yields a client app and the queue name to send tasks to."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    broker = os.environ["REDIS_URL"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "billing_portal.settings.base",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker,
        "CONN_MAX_AGE": "0",
        **(extra_env or {}),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "billing_portal", "worker", "--pool", "solo", "-Q", queue,
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    client = Celery(broker=broker)
    try:
        yield client, queue
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        client.close()
        sys.stdout.write(worker.stdout.read() if worker.stdout else "")  # shown by pytest when a test fails


def wait_for(condition: Callable[[], bool], *, timeout: float = 45, every: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False
