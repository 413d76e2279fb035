"""Races on PostgreSQL behind the subscription lock: waiters still find it; closure is final."""

import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import transaction

from accounts import services as accounts
from accounts.models import Membership, Organization, User
from billing_portal.core.errors import BillingError
from billing_portal.payments.models import Charge, TestCard
from billing_portal.subscriptions.models import Status, Subscription
from billing_portal.subscriptions.services.changes import (
    subscription_cancel,
    subscription_change_plan,
    subscription_preview_change,
)
from billing_portal.subscriptions.services.closure import org_request_closure
from invoices.models import InvoiceSequence
from tests.concurrency import in_thread, lock_waiters, run_concurrently, wait_for
from tests.factories import actions_after_closure, make_org
from tests.subscriptions.helpers import ACTOR, advance, owner, plan

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

JAN10 = datetime(2026, 1, 10, tzinfo=UTC)
MID = datetime(2026, 1, 20, 12, tzinfo=UTC)


def reload(org):
    return Organization.objects.select_related("subscription__plan", "test_clock").get(pk=org.pk)


def confirm_upgrade(org, code, interval="month"):
    """What the portal's confirm button does: the preview's instant and amount come back with the POST."""
    preview = subscription_preview_change(org=reload(org), plan=plan(code), interval=interval, by=owner(org))
    return lambda: subscription_change_plan(
        org=reload(org), plan=plan(code), interval=interval, by=owner(org), actor=ACTOR,
        proration_at=preview.proration_at, expected_amount=preview.amount_due,
    )


def unexpected(result):
    """An outcome no caller should see: anything raised that is not one of the product's refusals."""
    return isinstance(result, BaseException) and not isinstance(result, BillingError)


def test_an_invitation_accepted_while_the_owner_upgrades_joins_and_is_billed():
    """Someone accepts an invitation (a seat is added) at the moment the owner confirms Pro to Team. Both are
    allowed; neither may fail with an error of the code, and seats must equal the accepted memberships."""
    problems = []
    for round_ in range(6):
        org = advance(make_org(name=f"Round {round_}", plan="pro", clock_at=JAN10), MID)
        email = f"joiner{round_}@example.com"
        User.objects.create_user(email=email, password="x")
        _, token = accounts.invitation_create(org=org, email=email, role="member", by=owner(org))
        upgrade = confirm_upgrade(org, "team")

        def act(index, token=token, email=email, upgrade=upgrade, delay=round_ * 0.01):
            if index == 0:
                return upgrade()
            time.sleep(delay)  # the person clicks a little later each round
            return accounts.invitation_accept(token=token, user=User.objects.get(email=email))

        results = run_concurrently(act, 2)
        subscription = Subscription.objects.get(org=org)
        members = Membership.objects.active().filter(org=org).count()
        if any(unexpected(r) for r in results) or subscription.seat_quantity != members:
            problems.append((round_, results, subscription.seat_quantity, members))
    assert not problems, problems


def test_closing_the_account_while_an_upgrade_from_free_is_confirmed_leaves_it_closed_and_uncharged():
    """The owner confirms an upgrade in one tab and closes the account in another. Whichever comes first, a
    closed account stays closed ("no plan changes after it"), nothing is charged after the closure, and the
    closure itself never fails."""
    problems = []
    for round_ in range(8):
        org = advance(make_org(name=f"Round {round_}", plan="free", clock_at=JAN10, card=TestCard.SUCCEEDS), MID)
        upgrade = confirm_upgrade(org, "pro")

        def act(index, org=org, upgrade=upgrade):
            if index == 0:
                return org_request_closure(org=reload(org), by=owner(org), actor=ACTOR, reason="Leaving")
            return upgrade()

        closed, changed = run_concurrently(act, 2)
        subscription = Subscription.objects.get(org=org)
        after_closure = actions_after_closure(org)
        if (unexpected(closed) or unexpected(changed) or subscription.status != Status.CANCELED
                or "subscription.plan_changed" in after_closure):
            charged = list(Charge.objects.filter(org=org).order_by("id").values_list("amount", flat=True))
            problems.append((round_, closed, changed, subscription.status, subscription.plan.code, after_closure,
                             charged))
    assert not problems, problems



@pytest.mark.parametrize("second", ["accept invitation", "remove member", "cancel", "close account"])
def test_whatever_waits_for_the_subscription_lock_behind_an_upgrade_still_finds_the_subscription(second):
    """The owner's upgrade holds the subscription row while its invoice takes the next number (another org's
    invoice is being numbered at that moment, so it waits a little). Meanwhile a second request that locks the
    same subscription arrives and waits. When the upgrade commits, the second request must go on with the
    subscription as it now is, not fail with Subscription.DoesNotExist (a 500 in the portal)."""
    org = advance(make_org(name="Acme", plan="pro", clock_at=JAN10), MID)
    User.objects.create_user(email="joiner@example.com", password="x")
    _, token = accounts.invitation_create(org=org, email="joiner@example.com", role="member", by=owner(org))
    leaver = accounts.invitation_accept(
        token=accounts.invitation_create(org=org, email="leaver@example.com", role="member", by=owner(org))[1],
        user=User.objects.create_user(email="leaver@example.com", password="x"),
    )
    upgrade = confirm_upgrade(org, "team")
    seconds = {
        "accept invitation": lambda: accounts.invitation_accept(
            token=token, user=User.objects.get(email="joiner@example.com")),
        "remove member": lambda: accounts.membership_remove(membership=leaver, by=owner(org)),
        "cancel": lambda: subscription_cancel(org=reload(org), by=owner(org), actor=ACTOR),
        "close account": lambda: org_request_closure(org=reload(org), by=owner(org), actor=ACTOR),
    }
    release, locked = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def another_orgs_invoice_being_numbered():
        with transaction.atomic():
            InvoiceSequence.objects.get_or_create(key="2026")
            InvoiceSequence.objects.select_for_update().get(key="2026")
            locked.set()
            release.wait(30)

    threads = [in_thread(another_orgs_invoice_being_numbered, results, "holder")]
    try:
        assert locked.wait(10)
        threads.append(in_thread(upgrade, results, "upgrade"))
        wait_for(lambda: lock_waiters() >= 1)  # the upgrade holds the subscription and waits for a number
        threads.append(in_thread(seconds[second], results, "second"))
        wait_for(lambda: lock_waiters() >= 2)  # the second request waits for the subscription
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    assert not isinstance(results["upgrade"], BaseException), results["upgrade"]
    assert results["upgrade"].applied
    assert not unexpected(results["second"]), repr(results["second"])
    subscription = Subscription.objects.get(org=org)
    assert subscription.seat_quantity == Membership.objects.active().filter(org=org).count()


def test_staff_assigning_enterprise_while_the_owner_closes_the_account_leaves_it_closed():
    """Finance assigns Enterprise (the admin shows the button: the org is not closed yet) while the owner closes
    the account. A closed account stays closed and is not invoiced afterwards; the closure never fails."""
    from billing_portal.core.money import Money
    from billing_portal.subscriptions.admin.operations import ASSIGN_ENTERPRISE
    from billing_portal.subscriptions.services.changes import subscription_assign_enterprise

    problems = []
    for round_ in range(6):
        org = advance(make_org(name=f"Round {round_}", plan="pro", clock_at=JAN10), MID)

        def act(index, org=org):
            if index == 0:
                return org_request_closure(org=reload(org), by=owner(org), actor=ACTOR, reason="Leaving")
            staff_page = reload(org)
            assert ASSIGN_ENTERPRISE.applies(staff_page)
            return subscription_assign_enterprise(
                org=staff_page, interval="month", base_price=Money(99_000, "USD"), seat_price=Money(0, "USD"),
                quotas={}, actor=ACTOR)

        closed, assigned = run_concurrently(act, 2)
        subscription = Subscription.objects.get(org=org)
        after_closure = actions_after_closure(org)
        if (unexpected(closed) or unexpected(assigned) or subscription.status != Status.CANCELED
                or "subscription.enterprise_assigned" in after_closure):
            problems.append((round_, closed, assigned, subscription.status, subscription.plan.code, after_closure))
    assert not problems, problems
