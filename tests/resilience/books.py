"""The invariants a fault must never break: nothing granted, charged or numbered twice."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count

from accounts.models import Organization
from billing_portal.payments.models import Charge
from invoices.models import Invoice, InvoiceKind
from metering.models import CreditEntry, EntryKind

_NUMBER = re.compile(r"^(?P<series>.+)-(?P<n>\d+)$")


def assert_invoice_numbers_gap_free() -> None:
    """Every series of portal invoice numbers runs 1, 2, 3... with no gap and no repeat."""
    series: dict[str, list[int]] = defaultdict(list)
    for number in Invoice.objects.filter(number__isnull=False, stripe_invoice_id__isnull=True).values_list(
        "number", flat=True
    ):
        match = _NUMBER.match(number)
        assert match, number
        series[match["series"]].append(int(match["n"]))
    for name, numbers in series.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), (name, sorted(numbers))


def assert_renewed_once(orgs: Iterable[Organization], periods: int = 1) -> None:
    """`periods` renewal invoices per org, one per period, each charged once."""
    for org in orgs:
        renewals = Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL)
        assert renewals.count() == periods, (org.name, list(renewals.values_list("period_start", flat=True)))
        assert renewals.values("period_start").distinct().count() == periods
        for invoice in renewals:
            assert Charge.objects.filter(invoice=invoice).count() == 1, (org.name, invoice.number)
        assert Charge.objects.filter(org=org).count() == periods + 1  # and the first payment at sign-up


def assert_one_allotment_per_pool_and_window(orgs: Iterable[Organization], windows: int) -> None:
    grants = CreditEntry.objects.filter(org__in=list(orgs), kind=EntryKind.ALLOTMENT_GRANT)
    per_window = grants.values("pool", "window_start").annotate(n=Count("id"))
    assert per_window and {row["n"] for row in per_window} == {1}, list(per_window)
    per_pool = grants.values("pool").annotate(n=Count("window_start", distinct=True))
    assert {row["n"] for row in per_pool} == {windows}, list(per_pool)
