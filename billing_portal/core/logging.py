import logging

from billing_portal.core import requestid


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = requestid.current() or "-"
        return True
