import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.db.models import Sum
from django.urls import reverse

from accounts.models import Membership, Role
from billing_portal.catalog.models import Plan
from billing_portal.core.errors import BillingLimitReached, Conflict, InvalidInput, NotAllowed
from billing_portal.payments.models import Charge, TestCard
from billing_portal.payments.services import payment_method_add_test_card
from billing_portal.subscriptions.models import Subscription
from billing_portal.subscriptions.services.closure import org_request_closure
from invoices.models import Invoice, InvoiceKind, InvoiceStatus
from metering.models import CreditAlert, CreditEntry, CreditPool, EntryKind, TopupPack, UsageCounter
from metering.selectors import credit_balance, orgs_due_for_cycle_reset
from metering.services import (
    PaymentFailed,
    UsageAnswer,
    cap_set,
    credits_cycle_reset,
    credits_grant,
    credits_reseed_allotment,
    credits_revoke,
    credits_topup_fulfil,
    credits_topup_purchase,
)
from metering.services.rules import MAX_LIMIT
from metering.tasks import credit_alert_email
from tests.factories import add_member
from tests.metering.helpers import ACTOR, START, api_client, metered_org, move_clock, record, reload

pytestmark = pytest.mark.django_db
NEXT_WINDOW = START.replace(month=4)


def owner(org):
    return Membership.objects.get(org=org, role=Role.OWNER)


def pool(org, member=None):
    return CreditPool.objects.get(org=org, member=member)


def assert_balances_equal_the_ledger(org):
    for p in CreditPool.objects.filter(org=org):
        sums = CreditEntry.objects.filter(pool=p).aggregate(a=Sum("allotment_delta"), t=Sum("topup_delta"))
        assert (p.allotment_balance, p.topup_balance) == (sums["a"] or 0, sums["t"] or 0)


def buy(org, code="credits-1k", card=TestCard.SUCCEEDS, request_key=None):
    payment_method_add_test_card(org=org, card=card, actor=ACTOR)
    return credits_topup_purchase(
        org=reload(org), pack=TopupPack.objects.get(code=code), by=owner(org), actor=ACTOR, request_key=request_key
    )


def test_team_allotment_is_8000_plus_1000_per_seat():
    org = metered_org("team")
    add_member(org)
    add_member(org)
    credits_cycle_reset(org=reload(org), actor=ACTOR, at=NEXT_WINDOW)
    assert pool(org).allotment_balance == 8_000 + 3 * 1_000


def test_topups_are_spent_first_and_survive_the_cycle_reset_while_the_allotment_does_not():
    org = metered_org("team")
    invoice = buy(org)
    assert (invoice.kind, invoice.status) == (InvoiceKind.TOPUP, InvoiceStatus.PAID)
    record(org, "tool_calls", 300)  # 300 credits, all from the top-up
    assert (pool(org).topup_balance, pool(org).allotment_balance) == (700, 9_000)
    record(org, "tool_calls", 1_000)  # 700 from top-ups, then 300 from the allotment
    assert (pool(org).topup_balance, pool(org).allotment_balance) == (0, 8_700)
    buy(org)
    org = move_clock(org, NEXT_WINDOW)
    assert org in orgs_due_for_cycle_reset()
    assert credits_cycle_reset(org=org, actor=ACTOR) is True
    assert credits_cycle_reset(org=org, actor=ACTOR) is False
    assert org not in orgs_due_for_cycle_reset()
    assert (pool(org).topup_balance, pool(org).allotment_balance) == (1_000, 9_000)
    expiry = CreditEntry.objects.get(kind=EntryKind.ALLOTMENT_EXPIRY)
    assert expiry.allotment_delta == -8_700
    assert (
        UsageCounter.objects.get(org=org, meter="tool_calls", subject="org", window_start=NEXT_WINDOW).used
        == 0
    )
    assert_balances_equal_the_ledger(org)


def test_credits_endpoint_splits_the_balance_and_gives_the_next_refill():
    org = metered_org("team")
    buy(org)
    body = api_client(org).get(reverse("credits")).json()
    assert body == {
        "balance": 10_000,
        "allotment": 9_000,
        "topups": 1_000,
        "next_refill_at": "2026-04-10T12:00:00+00:00",
    }


def test_a_declined_topup_grants_nothing_and_voids_its_invoice():
    org = metered_org("team")
    with pytest.raises(PaymentFailed):
        buy(org, card=TestCard.DECLINES)
    assert pool(org).topup_balance == 0
    assert org.invoices.get(kind=InvoiceKind.TOPUP).status == InvoiceStatus.VOID


def test_only_the_owner_buys_and_a_paid_topup_is_granted_once():
    org = metered_org("team")
    admin = add_member(org, role=Role.ADMIN)
    with pytest.raises(NotAllowed):
        credits_topup_purchase(org=org, pack=TopupPack.objects.get(code="credits-1k"), by=admin, actor=ACTOR)
    invoice = buy(org, "credits-5k")
    assert credits_topup_fulfil(invoice=invoice, actor=ACTOR) is None
    assert pool(org).topup_balance == 5_000


def test_a_purchase_form_submitted_twice_buys_once():
    org = metered_org("team")
    key = uuid.uuid4()
    first = buy(org, request_key=key)
    assert buy(org, request_key=key) == first
    assert Invoice.objects.filter(org=org, kind=InvoiceKind.TOPUP).count() == 1
    assert pool(org).topup_balance == 1_000
    with pytest.raises(Conflict, match="already used for another purchase"):  # the page went back, pack changed
        buy(org, code="credits-5k", request_key=key)
    assert buy(org).pk != first.pk  # a new page (or no key) buys again
    assert pool(org).topup_balance == 2_000


def test_a_declined_purchase_submitted_again_stays_declined_until_the_page_is_reloaded():
    org = metered_org("team")
    key = uuid.uuid4()
    for _ in range(2):
        with pytest.raises(PaymentFailed):
            buy(org, card=TestCard.DECLINES, request_key=key)
    assert Charge.objects.filter(org=org, invoice__kind=InvoiceKind.TOPUP).count() == 1
    assert buy(org, request_key=uuid.uuid4()).status == InvoiceStatus.PAID


def test_a_closed_account_buys_no_credits():
    org = metered_org("team")
    org_request_closure(org=org, by=owner(org), actor=ACTOR)
    with pytest.raises(NotAllowed, match="closed"):
        buy(org)
    assert not Invoice.objects.filter(org=org, kind=InvoiceKind.TOPUP).exists()


def test_topups_in_yen_are_charged_in_yen():
    org = metered_org("team", currency="JPY")
    invoice = buy(org, "credits-1k")
    assert (invoice.currency, invoice.subtotal) == ("JPY", 1_500)


def test_spending_beyond_the_balance_is_refused_with_nothing_recorded():
    org = metered_org("team")
    credits_revoke(org=org, credits=9_000 - 5, reason="test setup", actor=ACTOR)
    assert isinstance(record(org, "tool_calls", 5), UsageAnswer)
    refused = record(org, "tool_calls", 1)
    assert isinstance(refused, BillingLimitReached) and "credits" in refused.message
    assert pool(org).allotment_balance == 0
    assert_balances_equal_the_ledger(org)


def test_revoke_never_overdraws_and_grants_behave_like_topups():
    org = metered_org("team")
    with pytest.raises(InvalidInput):
        credits_revoke(org=org, credits=9_001, reason="too much", actor=ACTOR)
    credits_grant(org=org, credits=250, reason="goodwill", actor=ACTOR)
    assert (pool(org).topup_balance, pool(org).allotment_balance) == (250, 9_000)
    credits_revoke(org=org, credits=300, reason="correction", actor=ACTOR)
    assert (pool(org).topup_balance, pool(org).allotment_balance) == (0, 8_950)
    assert_balances_equal_the_ledger(org)
    for too_many in (MAX_LIMIT + 1, 2**63):  # any caller, not only the admin form, is held to the bound
        with pytest.raises(InvalidInput):
            credits_grant(org=org, credits=too_many, reason="typo", actor=ACTOR)
        with pytest.raises(InvalidInput):
            cap_set(org=org, meter="tool_calls", limit=too_many, by=owner(org), member=owner(org))
    assert pool(org).topup_balance == 0


def test_per_member_plans_give_each_member_an_allotment_and_charge_the_caller():
    org = metered_org("pro")
    member = add_member(org)
    record(org, "tool_calls", 7, user=member.user.email)
    record(org, "tool_calls", 2)  # no user: the owner's own credits
    assert pool(org, member).allotment_balance == 5_000 - 7
    assert pool(org, owner(org)).allotment_balance == 5_000 - 2
    assert credit_balance(org=org).allotment == 10_000 - 9


def test_an_upgrade_reseeds_without_regranting_what_was_spent():
    org = metered_org("team")  # 9,000
    record(org, "tool_calls", 3_000)
    Subscription.objects.filter(org=org).update(plan=Plan.objects.get(code="business"))  # the upgrade's write
    credits_reseed_allotment(org=reload(org), actor=ACTOR, reason="upgrade to Business")
    credits_reseed_allotment(org=reload(org), actor=ACTOR, reason="upgrade to Business")
    assert pool(org).allotment_balance == 25_000 - 3_000
    assert_balances_equal_the_ledger(org)


def test_moving_from_pooled_to_per_member_forfeits_the_pool_topups_included():
    org = metered_org("team")
    buy(org)
    Subscription.objects.filter(org=org).update(plan=Plan.objects.get(code="pro"))  # the downgrade's write
    credits_reseed_allotment(org=reload(org), actor=ACTOR, reason="downgrade to Pro")
    assert pool(org).balance == 0
    assert CreditEntry.objects.filter(kind=EntryKind.FORFEIT, topup_delta=-1_000).exists()
    assert pool(org, owner(org)).allotment_balance == 5_000
    assert_balances_equal_the_ledger(org)


def test_low_balance_alert_once_per_cycle_and_refilled_alert_after_a_topup():
    org = metered_org("team")  # threshold 20% of 9,000 = 1,800
    record(org, "tool_calls", 7_000)
    assert not CreditAlert.objects.exists()
    record(org, "tool_calls", 201)  # 1,799 left
    record(org, "tool_calls", 1)
    low = CreditAlert.objects.get()
    assert (low.kind, low.balance, low.threshold) == ("low", 1_799, 1_800)
    assert credit_alert_email(low.pk) is True
    assert credit_alert_email(low.pk) is False
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [owner(org).user.email]
    assert "running low" in mail.outbox[0].subject
    buy(org, "credits-5k")
    refilled = CreditAlert.objects.get(kind="refilled")
    credit_alert_email(refilled.pk)
    assert "refilled" in mail.outbox[1].subject
    credits_revoke(org=org, credits=pool(org).balance - 100, reason="drain", actor=ACTOR)
    record(org, "tool_calls", 1)
    assert CreditAlert.objects.filter(kind="low").count() == 1  # at most once per cycle


def test_the_new_cycle_refills_a_low_pool_and_says_so():
    org = metered_org("team")
    record(org, "tool_calls", 8_000)
    org = move_clock(org, NEXT_WINDOW + timedelta(hours=1))
    credits_cycle_reset(org=org, actor=ACTOR)
    assert list(CreditAlert.objects.values_list("kind", flat=True).order_by("pk")) == ["low", "refilled"]
