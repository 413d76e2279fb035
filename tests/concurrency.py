"""Run a function in real threads, each with its own database connection, started together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connections

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
