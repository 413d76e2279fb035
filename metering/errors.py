"""Errors the metering API answers besides the core ones."""

from billing_portal.core.errors import BillingError


class PaymentRequired(BillingError):
    code = "payment_required"
    status = 402


class ConcurrencyLimitReached(BillingError):
    code = "concurrency_limit_reached"
    status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
