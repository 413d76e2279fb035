"""Subscription lifecycles over long timelines, driven by the billing jobs and commands."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from accounts import services as accounts
from billing_portal.audit.models import AuditEntry
from billing_portal.core.models import TestClock
from billing_portal.payments.models import Charge, TestCard
from billing_portal.payments.services import invoice_collect, payment_method_add_test_card
from billing_portal.subscriptions.jobs import run_due_jobs
from billing_portal.subscriptions.models import Status
from billing_portal.subscriptions.periods import boundary
from billing_portal.subscriptions.services.payment_state import subscription_sync_payment_state
from invoices.models import Invoice, InvoiceKind, InvoiceStatus
from metering.models import CreditPool, TopupPack
from metering.services import credits_topup_purchase
from tests.factories import add_member, make_org
from tests.subscriptions.helpers import ACTOR, advance, owner, plan

pytestmark = pytest.mark.django_db

JAN10 = datetime(2026, 1, 10, tzinfo=UTC)
FEB10 = datetime(2026, 2, 10, tzinfo=UTC)
MAR10 = datetime(2026, 3, 10, tzinfo=UTC)


def subjects(prefix=""):
    return [m.subject for m in mail.outbox if m.subject.startswith(prefix) or prefix in m.subject]


def test_catch_up_dunning_of_two_missed_renewals_moves_to_free_once():
    """Beat skipped two renewals (the clock jumps past two period ends); both renewals are billed on catch-up and
    fail. When retries run out the org moves to Free: one move, one audit row, one email."""
    org = make_org(plan="starter", clock_at=JAN10)
    payment_method_add_test_card(org=org, card=TestCard.DECLINES, actor=ACTOR)
    catch_up = MAR10 + timedelta(days=2)
    TestClock.objects.filter(pk=org.test_clock_id).update(frozen_time=catch_up)  # beat was down meanwhile
    run_due_jobs(org=org)
    renewals = list(Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL).order_by("period_start"))
    assert [(i.period_start, i.status) for i in renewals] == [
        (FEB10, InvoiceStatus.PAST_DUE), (MAR10, InvoiceStatus.PAST_DUE)]
    for day in (1, 4, 9, 20):  # retries 1, 3 and 5 days apart, then well after
        org = advance(org, catch_up + timedelta(days=day))
    assert {i.status for i in Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL)} == {
        InvoiceStatus.UNCOLLECTIBLE}
    assert (org.subscription.plan.code, org.subscription.status) == ("free", Status.ACTIVE)
    moved = list(AuditEntry.objects.filter(org=org, action="subscription.plan_changed", after__plan="free")
                 .values_list("before", flat=True))
    emails = subjects("moved to the Free plan")
    assert (len(moved), len(emails)) == (1, 1), (moved, emails)


def test_a_failed_pay_now_in_the_last_retry_window_still_ends_dunning():
    """The renewal and retries 1 and 2 fail; before the last retry the owner presses 'pay now' (the card still
    declines). Dunning must still end: the invoice uncollectible and the org moved to Free, as README promises."""
    org = make_org(plan="starter", clock_at=JAN10)
    payment_method_add_test_card(org=org, card=TestCard.DECLINES, actor=ACTOR)
    for day in (0, 1, 4):  # the renewal, retry 1 and retry 2 fail
        org = advance(org, FEB10 + timedelta(days=day))
    renewal = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    assert (renewal.attempt_count, renewal.next_payment_attempt_at) == (3, FEB10 + timedelta(days=9))
    invoice_collect(invoice=renewal, actor=ACTOR, on_session=True)  # what portal:invoice-pay does
    subscription_sync_payment_state(org=org, actor=ACTOR)
    for day in range(5, 15):  # beat keeps running every day, well past the last retry (day 9)
        org = advance(org, FEB10 + timedelta(days=day))
    renewal.refresh_from_db()
    org.subscription.refresh_from_db()
    state = (renewal.status, renewal.attempt_count, renewal.next_payment_attempt_at, org.subscription.plan.code,
             org.subscription.status)
    assert state[0] == InvoiceStatus.UNCOLLECTIBLE and state[3:] == ("free", Status.ACTIVE), state


def test_an_upgrade_paid_while_past_due_is_not_lost_when_the_old_invoice_runs_out_of_retries():
    """A card that needs authentication fails the off-session renewal; the owner, present, upgrades to Pro yearly
    and pays the whole year on session. The old Starter invoice's retries must not then drop the paid org to Free."""
    org = make_org(plan="starter", clock_at=JAN10)
    payment_method_add_test_card(org=org, card=TestCard.NEEDS_ATTENTION, actor=ACTOR)
    org = advance(org, FEB10)
    assert org.subscription.status == Status.PAST_DUE
    from billing_portal.subscriptions.services.changes import subscription_change_plan, subscription_preview_change

    preview = subscription_preview_change(org=org, plan=plan("pro"), interval="year", by=owner(org))
    outcome = subscription_change_plan(org=org, plan=plan("pro"), interval="year", by=owner(org), actor=ACTOR,
                                       proration_at=preview.proration_at, expected_amount=preview.amount_due)
    assert outcome.applied and outcome.invoice.status == InvoiceStatus.PAID
    paid_for_year = outcome.invoice.total
    assert paid_for_year > 40_000
    for day in (1, 4, 9, 15):
        org = advance(org, FEB10 + timedelta(days=day))
    org.subscription.refresh_from_db()
    assert (org.subscription.plan.code, org.subscription.interval) == ("pro", "year"), (
        f"paid {paid_for_year} for a year of Pro, now on {org.subscription.plan.code}")


# --- long timelines -------------------------------------------------------------------------------------------

NY = ZoneInfo("America/New_York")


def test_fourteen_monthly_renewals_on_a_31st_anchor_with_seats_and_top_ups():
    anchor = datetime(2026, 1, 31, 9, tzinfo=NY)
    org = make_org(plan="team", clock_at=anchor, timezone="America/New_York")
    credits_topup_purchase(org=org, pack=TopupPack.objects.get(code="credits-1k"), by=owner(org), actor=ACTOR)
    member = None
    for n in range(1, 15):
        if n == 3:
            member = add_member(org)
        if n == 7:
            accounts.membership_remove(membership=member, by=owner(org))
        org = advance(org, boundary(anchor, "month", NY, n) + timedelta(hours=1))
        pool = CreditPool.objects.get(org=org, member__isnull=True)
        seats = 2 if 3 <= n < 7 else 1
        assert (pool.allotment_balance, pool.topup_balance) == (8_000 + 1_000 * seats, 1_000), n
    renewals = list(Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL).order_by("period_start"))
    assert len(renewals) == 14
    for n, invoice in enumerate(renewals, start=1):
        assert (invoice.period_start, invoice.period_end) == (
            boundary(anchor, "month", NY, n), boundary(anchor, "month", NY, n + 1)), n
        assert invoice.status == InvoiceStatus.PAID and invoice.charges.count() == 1
    numbers = [i.number for i in renewals]
    assert numbers[:11] == [f"BP-2026-{k:06d}" for k in range(3, 14)], numbers
    assert numbers[11:] == [f"BP-2027-{k:06d}" for k in range(1, 4)], numbers
    assert run_due_jobs(org=org)[-1].processed == 0
    assert not mail.outbox, [m.subject for m in mail.outbox]
    assert Charge.objects.filter(org=org, status="failed").count() == 0


def test_scheduled_downgrade_team_to_starter_at_period_end_while_seats_change():
    from billing_portal.subscriptions.models import SeatChange
    from billing_portal.subscriptions.services.changes import subscription_change_plan

    org = make_org(plan="team", clock_at=JAN10)
    members = [add_member(org) for _ in range(3)]  # 4 seats from Jan 10
    outcome = subscription_change_plan(org=org, plan=plan("starter"), interval="month", by=owner(org), actor=ACTOR)
    assert outcome.scheduled_for == FEB10
    org = advance(org, datetime(2026, 1, 20, tzinfo=UTC))
    extra = add_member(org)  # 5 seats from Jan 20 (21 of 31 days)
    org = advance(org, datetime(2026, 1, 25, tzinfo=UTC))
    accounts.membership_remove(membership=members[0], by=owner(org))  # 4 seats from Jan 25 (16 of 31 days)
    org = advance(org, FEB10)
    subscription = org.subscription
    assert (subscription.plan.code, subscription.status) == ("starter", Status.ACTIVE)
    renewal = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    lines = list(renewal.lines.values_list("kind", "quantity", "amount"))
    assert lines == [("plan", 1, 1_900), ("seat_proration", 1, 3_600), ("seat_proration", 1, 813),
                     ("seat_proration", 1, -619)], lines
    active = accounts_active(org)
    assert len(active) == 3 and extra.pk not in active  # newest beyond Starter's 3 lose access
    subscription.refresh_from_db()
    assert subscription.seat_quantity == 3
    pools = {p.member_id: (p.allotment_balance, p.topup_balance) for p in CreditPool.objects.filter(org=org)}
    assert pools[None] == (0, 0)
    assert sorted(v for k, v in pools.items() if k in active) == [(1_000, 0)] * 3, pools
    # The next renewal carries nothing for the members fitted out at the boundary (Starter has no seat price).
    org = advance(org, MAR10)
    march = Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL).order_by("-period_start").first()
    assert list(march.lines.values_list("kind", "amount")) == [("plan", 1_900)]
    assert not SeatChange.objects.filter(subscription=subscription, settled_invoice__isnull=True).exists()


def accounts_active(org):
    from accounts.models import Membership

    return set(Membership.objects.active().filter(org=org).values_list("pk", flat=True))


def test_scheduled_yearly_to_monthly_on_team_bills_seat_changes_at_the_yearly_price():
    from billing_portal.subscriptions.services.changes import subscription_change_plan

    org = make_org(plan="team", interval="year", clock_at=JAN10)
    first = Invoice.objects.get(org=org)
    assert first.total == 46_800 + 12_000
    subscription_change_plan(org=org, plan=plan("team"), interval="month", by=owner(org), actor=ACTOR)
    org = advance(org, datetime(2026, 7, 10, tzinfo=UTC))
    add_member(org)  # 184 of 365 days left
    year_end = datetime(2027, 1, 10, tzinfo=UTC)
    org = advance(org, year_end)
    subscription = org.subscription
    assert (subscription.interval, subscription.current_period_start, subscription.current_period_end) == (
        "month", year_end, datetime(2027, 2, 10, tzinfo=UTC))
    renewal = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    lines = list(renewal.lines.values_list("kind", "quantity", "unit_amount", "amount"))
    assert lines == [("plan", 1, 4_900, 4_900), ("seats", 2, 1_200, 2_400), ("seat_proration", 1, 6_049, 6_049)], lines
    assert (renewal.period_start, renewal.period_end) == (year_end, datetime(2027, 2, 10, tzinfo=UTC))
    org = advance(org, datetime(2027, 3, 10, tzinfo=UTC))
    assert Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL).count() == 3


def test_cancel_at_period_end_then_resume_then_cancel_again():
    from billing_portal.subscriptions.services.changes import (
        subscription_cancel,
        subscription_undo_scheduled_change,
    )

    org = make_org(plan="pro", clock_at=JAN10)
    subscription_cancel(org=org, by=owner(org), actor=ACTOR)
    org = advance(org, datetime(2026, 2, 1, tzinfo=UTC))
    subscription_undo_scheduled_change(org=org, by=owner(org), actor=ACTOR)
    org = advance(org, FEB10)
    assert (org.subscription.plan.code, org.subscription.cancel_at_period_end) == ("pro", False)
    assert Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL, status="paid").count() == 1
    subscription_cancel(org=org, by=owner(org), actor=ACTOR)
    org = advance(org, MAR10)
    assert (org.subscription.plan.code, org.subscription.status) == ("free", Status.ACTIVE)
    assert Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL).count() == 1
    actions = list(AuditEntry.objects.filter(org=org, action__startswith="subscription.").order_by("at", "pk")
                   .values_list("action", flat=True))
    assert actions == ["subscription.started", "subscription.cancel_scheduled",
                       "subscription.scheduled_change_undone", "subscription.cancel_scheduled",
                       "subscription.plan_changed"], actions
    org = advance(org, datetime(2026, 6, 10, tzinfo=UTC))
    assert Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL).count() == 1
    assert not mail.outbox


def tick(now):
    import json
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("billing_tick", "--now", now.isoformat(), stdout=out)
    return json.loads(out.getvalue())


def test_billing_tick_after_beat_was_down_catches_up_every_missed_period_once_and_in_order():
    from billing_portal.core import clock

    with clock.running_at(JAN10):
        trial = make_org(name="Trial", plan="team", trial=True, card=TestCard.SUCCEEDS)
        pro = make_org(name="Pro", plan="pro")
        from billing_portal.subscriptions.services.changes import subscription_change_plan

        team = make_org(name="Team", plan="team")
        subscription_change_plan(org=team, plan=plan("pro"), interval="month", by=owner(team), actor=ACTOR)
    down_until = datetime(2026, 5, 20, tzinfo=UTC)
    tick(down_until)
    tick(down_until)  # a second beat at the same time
    tick(datetime(2026, 5, 21, tzinfo=UTC))

    def periods(org):
        return [(i.kind, i.period_start.date().isoformat(), i.status) for i in
                Invoice.objects.filter(org=org).order_by("period_start", "pk")]

    assert periods(pro) == [("subscription_start", "2026-01-10", "paid")] + [
        ("renewal", f"2026-0{m}-10", "paid") for m in (2, 3, 4, 5)], periods(pro)
    assert periods(trial) == [("subscription_start", "2026-01-24", "paid")] + [
        ("renewal", f"2026-0{m}-24", "paid") for m in (2, 3, 4)], periods(trial)
    assert periods(team) == [("subscription_start", "2026-01-10", "paid")] + [
        ("renewal", f"2026-0{m}-10", "paid") for m in (2, 3, 4, 5)], periods(team)
    team_totals = list(Invoice.objects.filter(org=team, kind="renewal").order_by("period_start")
                       .values_list("total", flat=True))
    assert team_totals == [4_900] * 4
    numbers = list(Invoice.objects.filter(kind="renewal").order_by("number").values_list("org__name", "period_start"))
    by_org = {}
    for name, start in numbers:
        by_org.setdefault(name, []).append(start)
    assert all(starts == sorted(starts) for starts in by_org.values())
    assert not mail.outbox  # the warning is skipped once the trial already ended; it converted with its card


def test_trial_without_card_pauses_then_a_card_from_the_portal_resumes_billing(client):
    from django.urls import reverse

    org = make_org(plan="pro", trial=True, clock_at=JAN10)
    for day in range(1, 20):
        org = advance(org, JAN10 + timedelta(days=day))
    assert org.subscription.status == Status.PAUSED
    sent = [m.subject for m in mail.outbox]
    assert sent == [f"Your Pro trial for {org.name} ends Jan 24", f"Your Pro trial for {org.name} has ended"], sent
    client.force_login(owner(org).user)
    response = client.post(reverse("portal:payment-method"), {"card": TestCard.SUCCEEDS})
    assert response.status_code == 302
    org.subscription.refresh_from_db()
    resumed_at = JAN10 + timedelta(days=19)
    assert (org.subscription.status, org.subscription.billing_anchor) == (Status.ACTIVE, resumed_at)
    start = Invoice.objects.get(org=org)
    assert (start.kind, start.status, start.total, start.period_start) == (
        "subscription_start", "paid", 4_900, resumed_at)
    for at in (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC)):
        org = advance(org, at)
    assert list(Invoice.objects.filter(org=org, kind="renewal").order_by("period_start")
                .values_list("period_start", "status")) == [
        (datetime(2026, 2, 28, tzinfo=UTC), "paid"), (datetime(2026, 3, 29, tzinfo=UTC), "paid")]
    statuses = list(AuditEntry.objects.filter(org=org, action="subscription.status_changed").order_by("at", "pk")
                    .values_list("before__status", "after__status"))
    assert statuses == [("trialing", "paused"), ("paused", "active")], statuses
    assert len(mail.outbox) == 2


def test_closure_and_purge_of_an_org_with_a_full_history():
    from accounts.models import Membership, Organization, User
    from billing_portal.subscriptions.models import JobExecution
    from billing_portal.subscriptions.services.closure import org_request_closure
    from metering.models import UsageEvent
    from metering.services import cap_set, session_open
    from tests.metering.helpers import api_client, record

    org = make_org(plan="team", clock_at=JAN10)
    member = add_member(org)
    space = accounts.space_create(org=org, name="Lab")
    cap_set(org=org, meter="tool_calls", limit=100, by=owner(org), member=member)
    cap_set(org=org, meter="tool_calls", limit=100, by=owner(org), space=space)
    for _ in range(5):
        record(org, user=member.user.email, space=space.slug, model="gpt-4o")
        record(org, meter="ai_tokens", quantity=500, user=member.user.email, model="gpt-4o")
    session_open(org=org, member=member)
    api_client(org)
    accounts.invitation_create(org=org, email="pending@example.com", role="member", by=owner(org))
    org = advance(org, FEB10)
    org_request_closure(org=org, by=owner(org), actor=ACTOR, reason="Bye")
    org = advance(org, FEB10 + timedelta(days=31))
    purged = Organization.objects.get(pk=org.pk)
    failures = list(JobExecution.objects.filter(job="closure_purge", failed__gt=0).values_list("outcome", flat=True))
    assert purged.purged_at is not None, failures
    assert not UsageEvent.objects.filter(org_id=org.pk).exists()
    assert not Membership.objects.filter(org=org).exists()
    assert not User.objects.filter(pk=member.user_id).exists()
    assert Invoice.objects.filter(org=org).count() == 2  # start and renewal are kept


def test_an_org_that_once_bought_a_top_up_is_purged_30_days_after_closing():
    from accounts.models import Organization
    from billing_portal.subscriptions.models import JobExecution
    from billing_portal.subscriptions.services.closure import org_request_closure

    org = make_org(plan="pro", clock_at=JAN10)
    credits_topup_purchase(org=org, pack=TopupPack.objects.get(code="credits-1k"), by=owner(org), actor=ACTOR)
    org_request_closure(org=org, by=owner(org), actor=ACTOR, reason="Bye")
    org = advance(org, JAN10 + timedelta(days=31))
    purged = Organization.objects.get(pk=org.pk)
    failed = JobExecution.objects.filter(job="closure_purge", failed__gt=0).count()
    assert (purged.purged_at, purged.name, failed) == (JAN10 + timedelta(days=31), f"Closed organization {org.pk}", 0)


def test_advance_clock_by_two_years_bills_every_month_it_crossed():
    import json
    from io import StringIO

    from django.core.management import call_command

    org = make_org(plan="pro", clock_at=JAN10)
    out = StringIO()
    call_command("advance_clock", "--org", org.slug, "--to", "2028-01-20T00:00:00Z", stdout=out)
    json.loads(out.getvalue())
    org.subscription.refresh_from_db()
    renewals = Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL).count()
    assert (renewals, org.subscription.current_period_end) == (24, datetime(2028, 2, 10, tzinfo=UTC))


def test_a_trial_canceled_before_it_ends_shows_no_charge_after_the_trial(client):
    from django.urls import reverse

    from billing_portal.subscriptions.selectors import next_charge
    from billing_portal.subscriptions.services.changes import subscription_cancel

    org = make_org(plan="pro", trial=True, clock_at=JAN10, card=TestCard.SUCCEEDS)
    subscription_cancel(org=org, by=owner(org), actor=ACTOR)
    org.subscription.refresh_from_db()
    client.force_login(owner(org).user)
    page = client.get(reverse("portal:overview")).content.decode()
    assert "Moves to <strong>Free</strong> on Jan 24, 2026" in page
    shown = next_charge(org.subscription)
    org = advance(org, JAN10 + timedelta(days=14))
    assert (org.subscription.plan.code, Invoice.objects.filter(org=org).count()) == ("free", 0)  # nothing charged
    assert shown is None and "Next billing date" not in page, (shown, page[page.find("Next billing"):][:120])


def test_a_canceled_team_whose_last_seat_proration_fails_is_not_moved_to_free_a_second_time():
    from billing_portal.subscriptions.services.changes import subscription_cancel

    org = make_org(plan="team", clock_at=JAN10)
    org = advance(org, datetime(2026, 1, 20, tzinfo=UTC))
    add_member(org)
    subscription_cancel(org=org, by=owner(org), actor=ACTOR)
    payment_method_add_test_card(org=org, card=TestCard.DECLINES, actor=ACTOR)
    org = advance(org, FEB10)
    last = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    assert list(last.lines.values_list("kind", flat=True)) == ["seat_proration"]
    states = [(org.subscription.plan.code, org.subscription.status)]
    for day in (1, 4, 9):
        org = advance(org, FEB10 + timedelta(days=day))
    states.append((org.subscription.plan.code, org.subscription.status))
    moves = list(AuditEntry.objects.filter(org=org, action="subscription.plan_changed").order_by("at", "pk")
                 .values_list("before__plan", "after__plan", "reason"))
    emails = subjects("moved to the Free plan")
    assert (states, moves, emails) == (
        [("free", Status.ACTIVE), ("free", Status.ACTIVE)], [("team", "free", "Canceled at period end")], []), (
        states, moves, emails)


def test_yearly_business_in_yen_renews_on_feb_28_from_a_leap_day_anchor():
    tokyo = ZoneInfo("Asia/Tokyo")
    anchor = datetime(2028, 2, 29, 10, tzinfo=tokyo)
    org = make_org(plan="business", interval="year", currency="JPY", timezone="Asia/Tokyo", clock_at=anchor)
    for year in (2029, 2030, 2031, 2032):
        org = advance(org, datetime(year, 3, 1, tzinfo=tokyo))
    renewals = list(Invoice.objects.filter(org=org, kind="renewal").order_by("period_start")
                    .values_list("period_start", "period_end", "total", "currency", "status"))
    ends = [datetime(2029, 2, 28, 10, tzinfo=tokyo), datetime(2030, 2, 28, 10, tzinfo=tokyo),
            datetime(2031, 2, 28, 10, tzinfo=tokyo), datetime(2032, 2, 29, 10, tzinfo=tokyo),
            datetime(2033, 2, 28, 10, tzinfo=tokyo)]
    assert renewals == [(ends[n], ends[n + 1], 201_600, "JPY", "paid") for n in range(4)], renewals
    pool = CreditPool.objects.get(org=org, member__isnull=True)
    assert pool.allotment_balance == 25_000


def test_a_card_updated_in_the_portal_during_dunning_pays_and_the_org_recovers(client):
    from django.urls import reverse

    org = make_org(plan="starter", clock_at=JAN10)
    payment_method_add_test_card(org=org, card=TestCard.DECLINES, actor=ACTOR)
    org = advance(org, FEB10)
    org = advance(org, FEB10 + timedelta(days=2))  # renewal and retry 1 failed
    renewal = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    assert (renewal.attempt_count, org.subscription.status) == (2, Status.PAST_DUE)
    client.force_login(owner(org).user)
    assert client.post(reverse("portal:payment-method"), {"card": TestCard.NEEDS_ATTENTION}).status_code == 302
    renewal.refresh_from_db()
    org.subscription.refresh_from_db()
    assert (renewal.status, renewal.next_payment_attempt_at, org.subscription.status) == ("paid", None, "active")
    emails = len(mail.outbox)
    for day in (4, 9, 20, 29):
        org = advance(org, FEB10 + timedelta(days=day))
    # The March renewal fails off session (the card needs the owner), and so does its first retry, on Mar 11.
    assert [m.subject for m in mail.outbox[emails:]] == [mail.outbox[emails].subject] * 2
    assert "payment" in mail.outbox[emails].subject.lower()
    assert org.subscription.plan.code == "starter"


def test_export_invoices_for_a_month_of_a_clocked_org(tmp_path):
    import csv
    import io
    import zipfile
    from io import StringIO

    from django.core.management import call_command

    org = make_org(plan="team", clock_at=JAN10)
    add_member(org)
    org = advance(org, FEB10)
    org = advance(org, MAR10)
    out = tmp_path / "feb.zip"
    call_command("export_invoices", "--month", "2026-02", "--org", org.slug, "--out", str(out), stdout=StringIO())
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        rows = list(csv.DictReader(io.StringIO(archive.read("invoices-2026-02-acme.csv").decode("utf-8-sig"))))
    feb = Invoice.objects.get(org=org, kind="renewal", period_start=FEB10)
    assert names == [f"{feb.number}.pdf", "invoices-2026-02-acme.csv"], names
    assert [(r["number"], r["period_start"], r["total"], r["status"]) for r in rows] == [
        (feb.number, "2026-02-10T00:00:00+00:00", f"{feb.total / 100:.2f}", "paid")]
