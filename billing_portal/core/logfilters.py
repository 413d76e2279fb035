"""Log filters for outages: a failure that every request meets is logged once a while, not once per request."""

from __future__ import annotations

import logging
import threading
import time


class OncePerInterval(logging.Filter):
    """Pass the first record, drop repeats for `seconds`, then pass one saying how many were dropped.

    Put on a logger whose records all report the same failure (e.g. the cache logger's "Exception ignored"
    while Redis is down), so an outage leaves a few lines rather than one traceback per request.
    """

    def __init__(self, seconds: float = 60.0) -> None:
        super().__init__()
        self.seconds = seconds
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        with self._lock:
            if now < self._open_until:
                self._dropped += 1
                return False
            dropped, self._dropped, self._open_until = self._dropped, 0, now + self.seconds
        if dropped:
            record.msg = f"{record.getMessage()} (and {dropped} more like it in the last {self.seconds:g} s)"
            record.args = ()
        return True
