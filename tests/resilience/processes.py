"""Processes the resilience tests start (gunicorn, Celery workers, manage.py commands) on the test database.

Each runs in a process group of its own with its output in a log file, and is always stopped (SIGTERM, then
SIGKILL) when the `with` block ends, whether the test passed or failed.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

from tests.celery_worker import _database_url

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def app_env(var_dir: Path, *, database_url: str = "", redis_url: str = "", **extra: str) -> dict[str, str]:
    """The environment of a deployed process (settings as `make run` has them, DEBUG off) on the test database.

    Files (PDFs, mail) go to `var_dir`; with `redis_url`, Redis is the cache and the broker, else the broker is
    in memory (tasks queued by that process are dropped) and the cache is a file."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "billing_portal.settings.dev",
        "DEBUG": "false",
        "DATABASE_URL": database_url or _database_url(),
        "BILLING_VAR_DIR": str(var_dir),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url or "memory://",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    return env


@contextmanager
def started(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], *, timeout: float = 15) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(process)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole group: no clean-up, no acknowledgement, as when a machine or container dies."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen[bytes]  # gunicorn's master; its workers are its children


@contextmanager
def gunicorn(env: dict[str, str], log: Path, *, workers: int = 2, threads: int = 1) -> Iterator[Server]:
    """gunicorn serving the portal, once it answers."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "billing_portal.wsgi:application", "--bind", f"{HOST}:{port}",
        "--workers", str(workers), "--threads", str(threads), "--timeout", "30", "--graceful-timeout", "5",
    ]  # fmt: skip
    with started(command, env, log) as server:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection(HOST, port, timeout=5)
                connection.request("GET", "/api/billing/plans")
                connection.getresponse().read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start; see {log}") from None
                time.sleep(0.2)
        yield Server(f"http://{HOST}:{port}", server)


def celery_worker_command(queue: str) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "billing_portal", "worker", "--pool", "solo", "-Q", queue,
        "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "INFO",
    ]  # fmt: skip


def sessions_waiting_for_locks() -> int:
    """How many sessions on the test database wait for a lock (e.g. one the test holds)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # a transaction otherwise keeps seeing its first snapshot
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])
