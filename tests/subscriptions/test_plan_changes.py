"""Upgrades now with Stripe-style prorations to the cent; downgrades and cancellations at the period end."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts import services as accounts
from accounts.models import Organization
from billing_portal.catalog.models import QuotaOverride
from billing_portal.core.errors import Conflict, NotAllowed
from billing_portal.core.money import Money
from billing_portal.payments.models import Charge, TestCard
from billing_portal.payments.services import payment_method_add_test_card
from billing_portal.subscriptions.models import Status
from billing_portal.subscriptions.services.changes import (
    subscription_assign_enterprise,
    subscription_cancel,
    subscription_change_plan,
    subscription_preview_change,
    subscription_undo_scheduled_change,
)
from invoices.models import Invoice, InvoiceKind, InvoiceStatus, LineKind
from tests.factories import add_member, make_org
from tests.subscriptions.helpers import ACTOR, advance, owner, plan

pytestmark = pytest.mark.django_db

JAN10 = datetime(2026, 1, 10, tzinfo=UTC)
MID = datetime(2026, 1, 20, 12, tzinfo=UTC)  # 20.5 of the period's 31 days remain


def amounts(lines):
    return [line.amount.amount for line in lines]


def upgrade(org, code, interval="month"):
    preview = subscription_preview_change(org=org, plan=plan(code), interval=interval, by=owner(org))
    outcome = subscription_change_plan(
        org=org, plan=plan(code), interval=interval, by=owner(org), actor=ACTOR,
        proration_at=preview.proration_at, expected_amount=preview.amount_due,
    )
    return preview, outcome


def test_upgrade_mid_period_is_prorated_to_the_second():
    org = advance(make_org(plan="starter", clock_at=JAN10), MID)
    preview, outcome = upgrade(org, "pro")
    # unused Starter: 1,900 x 20.5/31 = 1,256.45 -> 1,256; remaining Pro: 4,900 x 20.5/31 = 3,240.32 -> 3,240
    assert amounts(preview.lines) == [-1_256, 3_240]
    assert preview.amount_due == Money(1_984, "USD")
    assert outcome.applied and outcome.invoice.total == 1_984
    assert outcome.invoice.status == InvoiceStatus.PAID
    assert Charge.objects.get(invoice=outcome.invoice).amount == 1_984
    org.subscription.refresh_from_db()
    subscription = org.subscription
    assert (subscription.plan.code, subscription.current_period_end) == ("pro", datetime(2026, 2, 10, tzinfo=UTC))


def test_month_to_year_starts_a_new_yearly_period_now():
    org = advance(make_org(plan="pro", clock_at=JAN10), MID)
    preview, outcome = upgrade(org, "pro", "year")
    assert amounts(preview.lines) == [-3_240, 44_100]
    assert outcome.invoice.total == 40_860
    subscription = org.subscription
    subscription.refresh_from_db()
    assert subscription.interval == "year"
    assert subscription.billing_anchor == MID
    assert subscription.current_period_end == datetime(2027, 1, 20, 12, tzinfo=UTC)


def test_team_seats_are_credited_item_by_item():
    org = make_org(plan="team", clock_at=JAN10)
    add_member(org)
    add_member(org)
    org = advance(org, MID)
    preview, outcome = upgrade(org, "business")
    # Team base 4,900 and 3 seats x 1,200 unused; Business 14,900 for the rest of the period
    assert amounts(preview.lines)[:3] == [-3_240, -2_381, 9_853]
    assert outcome.invoice.subtotal == preview.subtotal.amount


def test_zero_decimal_currency_proration():
    org = advance(make_org(plan="starter", currency="JPY", clock_at=JAN10), MID)
    preview, outcome = upgrade(org, "pro")
    # ¥2,900 x 20.5/31 = 1,917.7 -> 1,918; ¥7,400 x 20.5/31 = 4,893.5 -> 4,894
    assert amounts(preview.lines) == [-1_918, 4_894]
    assert outcome.invoice.money("total").format() == "¥2,976"


def test_preview_equals_charge_when_confirmed_minutes_later():
    org = advance(make_org(plan="starter", clock_at=JAN10), MID)
    preview = subscription_preview_change(org=org, plan=plan("pro"), interval="month", by=owner(org))
    org = advance(org, MID + timedelta(minutes=4))
    outcome = subscription_change_plan(org=org, plan=plan("pro"), interval="month", by=owner(org), actor=ACTOR,
                                       proration_at=preview.proration_at, expected_amount=preview.amount_due)
    assert outcome.invoice.total == preview.amount_due.amount == 1_984


def test_expired_quote_or_changed_price_writes_nothing():
    org = make_org(plan="team", clock_at=JAN10)
    org = advance(org, MID)
    preview = subscription_preview_change(org=org, plan=plan("business"), interval="month", by=owner(org))
    add_member(org)  # a seat arrives between preview and confirmation
    with pytest.raises(Conflict) as error:
        subscription_change_plan(org=org, plan=plan("business"), interval="month", by=owner(org), actor=ACTOR,
                                 proration_at=preview.proration_at, expected_amount=preview.amount_due)
    assert error.value.code == "price_changed"
    org = advance(org, MID + timedelta(minutes=20))
    with pytest.raises(Conflict) as error:
        subscription_change_plan(org=org, plan=plan("business"), interval="month", by=owner(org), actor=ACTOR,
                                 proration_at=preview.proration_at, expected_amount=preview.amount_due)
    assert error.value.code == "quote_expired"
    org.subscription.refresh_from_db()
    assert org.subscription.plan.code == "team"
    assert not Invoice.objects.filter(org=org, kind=InvoiceKind.UPGRADE).exists()


def test_declined_upgrade_changes_nothing_but_keeps_the_attempt():
    org = advance(make_org(plan="starter", clock_at=JAN10), MID)
    payment_method_add_test_card(org=org, card="declines", actor=ACTOR)
    _, outcome = upgrade(org, "pro")
    assert not outcome.applied and outcome.error == "Your card was declined."
    assert outcome.invoice.status == InvoiceStatus.VOID
    org.subscription.refresh_from_db()
    assert (org.subscription.plan.code, org.subscription.status) == ("starter", Status.ACTIVE)


def test_downgrade_waits_for_the_period_end_and_can_be_undone():
    org = advance(make_org(plan="pro", clock_at=JAN10), MID)
    outcome = subscription_change_plan(org=org, plan=plan("starter"), interval="month", by=owner(org), actor=ACTOR)
    assert not outcome.applied and outcome.scheduled_for == datetime(2026, 2, 10, tzinfo=UTC)
    org.subscription.refresh_from_db()
    assert (org.subscription.plan.code, org.subscription.scheduled_plan.code) == ("pro", "starter")
    org = advance(org, datetime(2026, 2, 10, tzinfo=UTC))
    assert org.subscription.plan.code == "starter"
    renewal = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    assert (renewal.total, renewal.period_start, renewal.status) == (1_900, datetime(2026, 2, 10, tzinfo=UTC), "paid")


def test_leaving_enterprise_at_the_period_end_drops_its_negotiated_prices_and_quotas():
    org = make_org(plan="pro", clock_at=JAN10)
    subscription_assign_enterprise(org=org, interval="month", base_price=Money(99_000, "USD"),
                                   seat_price=Money(0, "USD"), quotas={"tool_calls": 900_000}, actor=ACTOR)  # fmt: skip
    org = advance(org, MID)
    outcome = subscription_change_plan(org=org, plan=plan("business"), interval="month", by=owner(org), actor=ACTOR)
    assert not outcome.applied
    org = advance(org, datetime(2026, 2, 10, tzinfo=UTC))
    org.subscription.refresh_from_db()
    assert (org.subscription.plan.code, org.subscription.custom_base_price) == ("business", None)
    assert not QuotaOverride.objects.filter(org=org).exists()
    assert Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL).total == 14_900  # Business's catalog price


def test_undone_downgrade_renews_the_current_plan():
    org = advance(make_org(plan="pro", clock_at=JAN10), MID)
    subscription_change_plan(org=org, plan=plan("starter"), interval="month", by=owner(org), actor=ACTOR)
    subscription_undo_scheduled_change(org=org, by=owner(org), actor=ACTOR)
    org = advance(org, datetime(2026, 2, 10, tzinfo=UTC))
    assert org.subscription.plan.code == "pro"
    assert Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL).total == 4_900


def test_cancel_returns_to_free_at_period_end_keeping_data():
    org = make_org(plan="team", clock_at=JAN10)
    for _ in range(3):
        add_member(org)
    accounts.space_create(org=org, name="One")
    accounts.space_create(org=org, name="Two")
    org = advance(org, MID)
    subscription_cancel(org=org, by=owner(org), actor=ACTOR)
    org.subscription.refresh_from_db()
    assert org.subscription.cancel_at_period_end and org.subscription.plan.code == "team"
    org = advance(org, datetime(2026, 2, 10, tzinfo=UTC))
    subscription = org.subscription
    assert (subscription.plan.code, subscription.status, subscription.seat_quantity) == ("free", "active", 1)
    # Free resets on the sign-up day: Jan 10
    assert subscription.current_period_start == datetime(2026, 2, 10, tzinfo=UTC)
    assert list(org.spaces.order_by("created_at").values_list("read_only", flat=True)) == [False, True]
    assert org.memberships.count() == 4  # removed members are kept, not deleted
    # The last invoice carries only the 3 seats added on day one, for the whole period; no plan line for Free.
    final = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    assert list(final.lines.values_list("kind", "amount")) == [("seat_proration", 3_600)]


def test_undo_cancel_keeps_the_plan():
    org = advance(make_org(plan="starter", clock_at=JAN10), MID)
    subscription_cancel(org=org, by=owner(org), actor=ACTOR)
    subscription_undo_scheduled_change(org=org, by=owner(org), actor=ACTOR)
    org = advance(org, datetime(2026, 2, 10, tzinfo=UTC))
    assert org.subscription.plan.code == "starter"


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_only_the_owner_changes_the_plan(role):
    org = make_org(plan="team", clock_at=JAN10)
    someone = add_member(org, role=role)
    if role == "member":
        accounts.membership_set_billing_read(membership=someone, allowed=True, by=owner(org))
    with pytest.raises(NotAllowed):
        subscription_change_plan(org=org, plan=plan("business"), interval="month", by=someone, actor=ACTOR)
    with pytest.raises(NotAllowed):
        subscription_cancel(org=org, by=someone, actor=ACTOR)


def test_enterprise_is_contact_sales():
    org = make_org(plan="team", clock_at=JAN10)
    with pytest.raises(NotAllowed) as error:
        subscription_change_plan(org=org, plan=plan("enterprise"), interval="year", by=owner(org), actor=ACTOR)
    assert error.value.code == "contact_sales"


def test_a_declined_upgrade_leaves_the_pending_seats_for_the_next_invoice():
    org = advance(make_org(plan="team", clock_at=JAN10), datetime(2026, 1, 20, 9, tzinfo=UTC))
    add_member(org)  # a seat for 21 of 31 days: 1,200 x 21/31 = 812.9 -> 813
    payment_method_add_test_card(org=org, card=TestCard.DECLINES, actor=ACTOR)
    _, outcome = upgrade(Organization.objects.get(pk=org.pk), "team", "year")
    assert not outcome.applied and outcome.invoice.status == InvoiceStatus.VOID
    payment_method_add_test_card(org=org, card=TestCard.SUCCEEDS, actor=ACTOR)
    org = advance(org, datetime(2026, 2, 10, tzinfo=UTC))
    renewal = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    assert list(renewal.lines.filter(kind=LineKind.SEAT_PRORATION).values_list("amount", flat=True)) == [813]
