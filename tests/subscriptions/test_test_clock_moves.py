"""The test clock moved far in one step ends where moving it day by day does: each renewal and retry at its own
time; --days and emails in the org's own days."""

from datetime import UTC, datetime, timedelta

import pytest

from billing_portal.payments.models import TestCard
from billing_portal.payments.services import payment_method_add_test_card
from invoices.models import Invoice, InvoiceKind
from tests.factories import make_org
from tests.subscriptions.helpers import ACTOR, advance

pytestmark = pytest.mark.django_db
JAN10 = datetime(2026, 1, 10, tzinfo=UTC)
MAR20 = datetime(2026, 3, 20, tzinfo=UTC)


def declining_starter(name):
    org = make_org(name=name, plan="starter", clock_at=JAN10)
    payment_method_add_test_card(org=org, card=TestCard.DECLINES, actor=ACTOR)
    return org


def outcome(org):
    renewals = Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL).order_by("period_start")
    return {
        "plan": org.subscription.plan.code,
        "status": org.subscription.status,
        "renewals": [(f"{i.period_start:%b %-d}", i.status, f"{i.issued_at:%b %-d}") for i in renewals],
    }


def test_moving_a_test_clock_in_one_jump_ends_where_moving_it_day_by_day_does():
    """Jan 10 -> Mar 20 with a card that always declines: day by day, the Feb 10 renewal fails, its retries fail
    and the org moves to Free before Mar 10. One move of the clock ends the same way."""
    stepped = declining_starter("Stepped")
    day = JAN10
    while day < MAR20:
        day += timedelta(days=1)
        stepped = advance(stepped, day)
    jumped = advance(declining_starter("Jumped"), MAR20)
    assert outcome(stepped)["plan"] == "free"  # the timeline as it really runs
    assert outcome(jumped) == outcome(stepped)


def test_a_clock_moved_three_months_dates_each_renewal_invoice_on_its_own_renewal_day():
    """Jan 10 -> Apr 20 in one move: each renewal invoice is issued on its own renewal day, not on Apr 20."""
    org = make_org(name="Jumper", plan="pro", clock_at=JAN10)
    org = advance(org, datetime(2026, 4, 20, tzinfo=UTC))
    renewals = Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL).order_by("period_start")
    issued = [(f"{i.period_start:%b %-d}", f"{i.issued_at:%b %-d}") for i in renewals]
    assert issued == [("Feb 10", "Feb 10"), ("Mar 10", "Mar 10"), ("Apr 10", "Apr 10")]


def test_advance_clock_by_31_days_renews_a_los_angeles_org_across_the_autumn_dst_change():
    """From Oct 1, 10:00 in Los Angeles, 31 days on the org's calendar is Nov 1, 10:00 (after the DST change),
    exactly the monthly renewal; 31 x 24 hours would stop at 09:00, before it."""
    import io
    from zoneinfo import ZoneInfo

    from django.core.management import call_command

    la = ZoneInfo("America/Los_Angeles")
    org = make_org(name="LA", plan="pro", timezone="America/Los_Angeles",
                   clock_at=datetime(2026, 10, 1, 10, tzinfo=la).astimezone(UTC))
    assert org.subscription.current_period_end.astimezone(la) == datetime(2026, 11, 1, 10, tzinfo=la)
    call_command("advance_clock", "--org", org.slug, "--days", "31", stdout=io.StringIO())
    org.test_clock.refresh_from_db()
    assert org.test_clock.frozen_time.astimezone(la).strftime("%b %-d %H:%M") == "Nov 1 10:00"
    assert Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL).count() == 1


def test_trial_warning_email_names_the_day_the_trial_ends_for_the_org():
    """A Tokyo org starts a 14-day trial at 08:00 on Jan 10 (Tokyo): it ends at 08:00 on Jan 24, Tokyo time (23:00
    on Jan 23 in UTC), and the warning names the org's day."""
    from zoneinfo import ZoneInfo

    from django.core import mail

    tokyo = ZoneInfo("Asia/Tokyo")
    org = make_org(name="Tokyo trial", plan="pro", trial=True, card=TestCard.SUCCEEDS, timezone="Asia/Tokyo",
                   clock_at=datetime(2026, 1, 10, 8, tzinfo=tokyo).astimezone(UTC))
    assert org.subscription.trial_end.astimezone(tokyo) == datetime(2026, 1, 24, 8, tzinfo=tokyo)
    advance(org, org.subscription.trial_end - timedelta(days=3))
    assert [m.subject for m in mail.outbox] == ["Your Pro trial for Tokyo trial ends Jan 24"]
