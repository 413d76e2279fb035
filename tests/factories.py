"""Factories build through the services, so tests exercise the same write paths the product does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from io import BytesIO

import factory
from pypdf import PdfReader

from accounts import services as account_services
from accounts.models import Membership, Organization, Role, User
from billing_portal.audit.services import Actor
from billing_portal.catalog.models import Interval, Plan
from billing_portal.catalog.selectors import plan_is_free
from billing_portal.core import clock
from billing_portal.core.money import Money
from billing_portal.payments.models import TestCard
from billing_portal.subscriptions.periods import Period
from invoices.models import Invoice, LineKind
from invoices.services import LineSpec, invoice_issue

TEST_ACTOR = Actor.system("factory")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password("pw-for-tests-1")


def make_org(
    *,
    name: str = "Acme",
    owner: User | None = None,
    plan: str = "free",
    interval: str = Interval.MONTH,
    trial: bool = False,
    timezone: str = "UTC",
    currency: str = "USD",
    clock_at: datetime | None = None,
    card: str | None = None,
) -> Organization:
    """An org with an OWNER on `plan`; `clock_at` attaches a test clock frozen at that instant.

    `card` is a local test card attached before the subscription starts; by default a paying org gets the one
    that succeeds (pass "" for none).
    """
    plan_obj = Plan.objects.get(code=plan)
    if card is None:
        card = TestCard.SUCCEEDS if not trial and not plan_is_free(plan_obj, currency) else ""
    return account_services.org_sign_up(
        name=name,
        owner=owner or UserFactory(),
        actor=TEST_ACTOR,
        plan=plan_obj,
        interval=interval,
        trial=trial,
        test_card=card,
        timezone=timezone,
        currency=currency,
        test_clock_at=clock_at,
    )


def add_member(org: Organization, *, role: str = Role.MEMBER, user: User | None = None) -> Membership:
    """Invite and accept, exactly as a person would join."""
    user = user or UserFactory()
    owner = Membership.objects.get(org=org, role=Role.OWNER, removed_at__isnull=True)
    _, token = account_services.invitation_create(org=org, email=user.email, role=role, by=owner)
    return account_services.invitation_accept(token=token, user=user)


def invoice_lines(count: int, currency: str = "USD") -> list[LineSpec]:
    """`count` distinct usage lines (amounts differ, so each one can be found again on the PDF)."""
    return [
        LineSpec(LineKind.USAGE_OVERAGE, f"API calls, batch {n}", Money(1_000 + 37 * n, currency),
                 quantity=n % 4 + 1)
        for n in range(1, count + 1)
    ]


def issue_invoice(org: Organization, *, lines: Sequence[LineSpec] | None = None) -> Invoice:
    """A finalized manual invoice in the org's currency for the month starting at the org's `now`."""
    start = clock.now(org=org)
    period = Period(start, start + timedelta(days=30))
    seat = Money.from_major(12, org.currency)
    lines = lines or [
        LineSpec(LineKind.PLAN, "Team plan", Money.from_major(49, org.currency), period=period),
        LineSpec(LineKind.SEATS, "Additional seats", seat, quantity=3, period=period),
    ]
    return invoice_issue(
        org=org, kind="manual", currency=org.currency, lines=lines, period=period, actor=TEST_ACTOR
    )


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page of a PDF, read back as a viewer would extract it."""
    return [page.extract_text() for page in PdfReader(BytesIO(data)).pages]


def actions_after_closure(org: Organization) -> list[str]:
    """The audit actions recorded for the org after its closure was requested (none before it is)."""
    from billing_portal.audit.models import AuditEntry

    actions = list(AuditEntry.objects.filter(org=org).order_by("id").values_list("action", flat=True))
    return actions[actions.index("org.closure_requested") + 1:] if "org.closure_requested" in actions else []
