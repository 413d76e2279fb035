"""Posting malformed values to a form, one field at a time: never a 500, and a refusal writes nothing.

Each post runs in a savepoint rolled back afterwards, so every value meets the same starting state."""

from __future__ import annotations

from typing import Any

from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client

from accounts.models import Invitation, Membership
from billing_portal.api.models import ApiKey
from billing_portal.audit.models import AuditEntry
from billing_portal.catalog.models import QuotaOverride
from billing_portal.payments.models import Charge, PaymentMethod, Refund
from invoices.models import Invoice, InvoiceEvent, InvoiceLine
from metering.models import CreditEntry, CreditPool, TopupPurchase, UsageCap

NASTY = [
    "", " ", "-1", "-99999999999999999999", "0", "1.5", "1e309", "NaN", "Infinity", "9" * 30, "9" * 5_000,
    "abc", "\x00", "null\x00byte", "😀" * 60, "ä" * 300, "\u202etxt.exe", "<script>alert(1)</script>",
    "' OR 1=1 --", "../../etc/passwd", "%00", "https://evil.example/", "A" * 100_000,
    "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com",  # a valid email of 310 characters: longer than a column
    "9223372036854775808", "1e20", "²", "١٢٣",  # past a bigint; a decimal that is a huge integer; unicode digits
    "2026-01-01T00:00:00",  # a timestamp without a time zone
]  # fmt: skip
# What a refused post must leave untouched.
LEDGERS = [Invoice, InvoiceLine, InvoiceEvent, Charge, Refund, PaymentMethod, CreditEntry, CreditPool, TopupPurchase,
           AuditEntry, ApiKey, Membership, Invitation, UsageCap, QuotaOverride]  # fmt: skip


class _Rollback(Exception):
    pass


def ledger_counts() -> list[int]:
    return [model.objects.count() for model in LEDGERS]


def _refused(response: Any) -> bool:
    """Whether the post was turned down with the reason shown: a 4xx, an error message, or the form's errors."""
    if response.status_code >= 400:
        return True
    levels = {message.level_tag for message in get_messages(response.wsgi_request)}
    return "error" in levels or (response.status_code == 200 and b"errorlist" in response.content)


def hostile_posts(client: Client, url: str, valid: dict[str, str], fuzzed: list[str]) -> list[str]:
    """Post `valid` with each fuzzed field set to each NASTY value; the problems found (empty: none)."""
    client.raise_request_exception = False  # a crash is a 500 answer, reported with the rest
    problems = []
    for field in fuzzed:
        for value in NASTY:
            before = ledger_counts()
            client.cookies.pop("messages", None)  # only this post's messages count
            try:
                with transaction.atomic():
                    response = client.post(url, {**valid, field: value})
                    refused, changed = _refused(response), ledger_counts() != before
                    raise _Rollback
            except _Rollback:
                pass
            if response.status_code >= 500:
                problems.append(f"{field}={value[:40]!r}: {response.status_code}")
            elif refused and changed:
                problems.append(f"{field}={value[:40]!r}: refused ({response.status_code}) but rows changed")
    return problems
