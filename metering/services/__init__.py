"""Metering writes. Import the public services from here."""

from metering.services.caps import cap_remove, cap_set
from metering.services.credits import (
    PaymentFailed,
    credits_grant,
    credits_revoke,
    credits_topup_fulfil,
    credits_topup_purchase,
)
from metering.services.cycle import credits_cycle_reset, credits_pools_ready, credits_reseed_allotment
from metering.services.sessions import SessionQuota, session_end, session_open, session_quota
from metering.services.usage import UsageAnswer, UsageInput, UsageOutcome, usage_record

__all__ = [
    "PaymentFailed",
    "SessionQuota",
    "UsageAnswer",
    "UsageInput",
    "UsageOutcome",
    "cap_remove",
    "cap_set",
    "credits_cycle_reset",
    "credits_grant",
    "credits_pools_ready",
    "credits_reseed_allotment",
    "credits_revoke",
    "credits_topup_fulfil",
    "credits_topup_purchase",
    "session_end",
    "session_open",
    "session_quota",
    "usage_record",
]
