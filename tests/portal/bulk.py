"""Large orgs for query-count tests, built with bulk inserts (the pages only read them)."""

from __future__ import annotations

import random
from datetime import timedelta

from accounts.models import Membership, Organization, Role, Space, User
from billing_portal.core import clock
from invoices.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from metering.models import CreditEntry, CreditPool, EntryKind, UsageEvent, UsageRollup
from metering.selectors import current_window


def grow(org: Organization, *, members: int, invoices: int, events: int, ledger: int = 0) -> None:
    now = clock.now(org=org)
    users = User.objects.bulk_create(
        [User(email=f"bulk{org.pk}-{n}@example.com", password="!") for n in range(members)], batch_size=2_000
    )
    memberships = Membership.objects.bulk_create(
        [Membership(org=org, user=user, role=Role.MEMBER, joined_at=now) for user in users], batch_size=2_000
    )
    spaces = Space.objects.bulk_create([Space(org=org, name=f"Bulk {n}", slug=f"bulk-{n}") for n in range(5)])
    made = Invoice.objects.bulk_create(
        [
            Invoice(org=org, kind=InvoiceKind.RENEWAL, number=f"BULK-{org.pk}-{n:06d}", status=InvoiceStatus.PAID,
                    currency="USD", period_start=now - timedelta(days=31 * (n + 1)),
                    period_end=now - timedelta(days=31 * n), created_at=now, issued_at=now - timedelta(days=31 * n),
                    subtotal=4_900, total=4_900, amount_paid=4_900)
            for n in range(invoices)
        ],
        batch_size=2_000,
    )
    InvoiceLine.objects.bulk_create(
        [InvoiceLine(invoice=invoice, position=1, kind=LineKind.PLAN, description="Plan",
                     unit_amount=4_900, amount=4_900)
         for invoice in made],
        batch_size=2_000,
    )
    rng = random.Random(7)
    window = current_window(org)
    UsageEvent.objects.bulk_create(
        [
            UsageEvent(org=org, key=f"bulk-{n}", meter="tool_calls", quantity=1, member=rng.choice(memberships),
                       space=rng.choice(spaces), integration="web-search", counted=True, credits=1,
                       occurred_at=window.start + timedelta(seconds=n), received_at=window.start + timedelta(seconds=n))
            for n in range(events)
        ],
        batch_size=5_000,
    )
    UsageRollup.objects.bulk_create(
        [
            UsageRollup(org=org, day=window.start.date() + timedelta(days=n % 28), dimensions=f"bulk|{n}",
                        meter="tool_calls", member=memberships[n % len(memberships)] if memberships else None,
                        space=spaces[n % 5],
                        integration="web-search", line_item="tool", events=10, quantity=10, credits=10)
            for n in range(min(events // 10, 5_000))
        ],
        batch_size=2_000,
    )
    pool = CreditPool.objects.filter(org=org).first()
    if pool is not None and ledger:
        CreditEntry.objects.bulk_create(
            [CreditEntry(org=org, pool=pool, kind=EntryKind.DEBIT, allotment_delta=0, topup_delta=0,
                         allotment_balance_after=pool.allotment_balance, topup_balance_after=pool.topup_balance,
                         at=now, window_start=pool.window_start) for _ in range(ledger)],
            batch_size=2_000,
        )
