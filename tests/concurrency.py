"""Run work in real threads, each with its own database connection: started together, or one by one while the
test watches PostgreSQL's lock queue to order them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import connection, connections

T = TypeVar("T")


def run_concurrently(fn: Callable[[int], T], count: int, *, timeout: float = 60) -> list[T | BaseException]:
    barrier = threading.Barrier(count)
    results: list[T | BaseException] = [RuntimeError("thread did not finish")] * count

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = fn(index)
        except BaseException as error:  # collected and asserted on by the test
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results


def in_thread(fn: Callable[[], object], results: dict[str, object], name: str) -> threading.Thread:
    """Start `fn` in a thread of its own; its result, or the exception it raised, lands in `results[name]`."""

    def run() -> None:
        try:
            results[name] = fn()
        except BaseException as error:  # asserted on by the test
            results[name] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def lock_waiters() -> int:
    """Sessions of the test database waiting for a lock now (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
