from metering.models.credits import (
    CreditAlert,
    CreditEntry,
    CreditPool,
    CreditRate,
    EntryKind,
    LineItem,
    TopupPack,
    TopupPackPrice,
    TopupPurchase,
)
from metering.models.sessions import UsageSession
from metering.models.usage import UsageCap, UsageCounter, UsageEvent, UsageRollup, UsageWindow

__all__ = [
    "CreditAlert",
    "CreditEntry",
    "CreditPool",
    "CreditRate",
    "EntryKind",
    "LineItem",
    "TopupPack",
    "TopupPackPrice",
    "TopupPurchase",
    "UsageCap",
    "UsageCounter",
    "UsageEvent",
    "UsageRollup",
    "UsageSession",
    "UsageWindow",
]
