from datetime import UTC, datetime, timedelta

import pytest

from accounts import services
from accounts.models import Invitation, InvitationStatus, Membership, Role
from accounts.selectors import seat_count
from billing_portal.audit.services import Actor
from billing_portal.core.errors import BillingLimitReached, InvalidInput, NotAllowed
from billing_portal.core.models import TestClock
from billing_portal.subscriptions.models import SeatChange
from billing_portal.subscriptions.services.closure import org_request_closure
from tests.factories import UserFactory, add_member, make_org

pytestmark = pytest.mark.django_db


def owner_of(org):
    return Membership.objects.get(org=org, role=Role.OWNER, removed_at__isnull=True)


def test_pending_invitations_are_not_seats():
    org = make_org(plan="team")
    for n in range(3):
        services.invitation_create(org=org, email=f"p{n}@example.com", role=Role.MEMBER, by=owner_of(org))
    assert seat_count(org) == 1
    org.subscription.refresh_from_db()
    assert org.subscription.seat_quantity == 1


def test_accepting_and_removing_moves_the_seat_count_and_ledger():
    org = make_org(plan="team")
    first = add_member(org)
    add_member(org, role=Role.VIEWER)
    assert seat_count(org) == 3
    services.membership_remove(membership=first, by=owner_of(org))
    assert seat_count(org) == 2
    org.subscription.refresh_from_db()
    assert org.subscription.seat_quantity == 2
    ledger = list(SeatChange.objects.filter(subscription=org.subscription).values_list("previous_quantity", "quantity"))
    assert ledger == [(1, 2), (2, 3), (3, 2)]


def test_removing_twice_counts_once():
    org = make_org(plan="team")
    member = add_member(org)
    services.membership_remove(membership=member, by=owner_of(org))
    services.membership_remove(membership=member, by=owner_of(org))
    assert SeatChange.objects.filter(subscription=org.subscription).count() == 2


def test_member_limit_is_enforced_on_acceptance():
    org = make_org(plan="starter")  # 3 members
    add_member(org)
    add_member(org)
    _, token = services.invitation_create(org=org, email="fourth@example.com", role=Role.MEMBER, by=owner_of(org))
    with pytest.raises(BillingLimitReached) as error:
        services.invitation_accept(token=token, user=UserFactory(email="fourth@example.com"))
    assert error.value.code == "member_limit_reached"
    assert seat_count(org) == 3
    # nothing half-written: the invitation is still pending and can be used after an upgrade
    assert Invitation.objects.get(email="fourth@example.com").status == InvitationStatus.PENDING


def test_expired_invitation_is_marked_and_refused():
    org = make_org(plan="team", clock_at=datetime(2026, 1, 1, tzinfo=UTC))
    _, token = services.invitation_create(org=org, email="slow@example.com", role=Role.MEMBER, by=owner_of(org))
    TestClock.objects.filter(pk=org.test_clock_id).update(
        frozen_time=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=8)
    )
    with pytest.raises(InvalidInput) as error:
        services.invitation_accept(token=token, user=UserFactory(email="slow@example.com"))
    assert error.value.code == "invitation_expired"
    assert Invitation.objects.get(email="slow@example.com").status == InvitationStatus.EXPIRED


def test_an_invitation_that_ran_out_unanswered_gives_way_to_a_new_one():
    org = make_org(plan="team", clock_at=datetime(2026, 1, 1, tzinfo=UTC))
    first, _ = services.invitation_create(org=org, email="slow@example.com", role=Role.MEMBER, by=owner_of(org))
    TestClock.objects.filter(pk=org.test_clock_id).update(frozen_time=datetime(2026, 1, 9, tzinfo=UTC))
    org = type(org).objects.select_related("test_clock").get(pk=org.pk)
    _, token = services.invitation_create(org=org, email="slow@example.com", role=Role.MEMBER, by=owner_of(org))
    services.invitation_accept(token=token, user=UserFactory(email="slow@example.com"))
    assert seat_count(org) == 2
    first.refresh_from_db()
    assert first.status == InvitationStatus.EXPIRED


def test_a_closed_account_takes_no_new_members():
    org = make_org(plan="team")
    user = UserFactory()
    _, token = services.invitation_create(org=org, email=user.email, role=Role.MEMBER, by=owner_of(org))
    org_request_closure(org=org, by=owner_of(org), actor=Actor.system("tests"))
    with pytest.raises(InvalidInput, match="no longer valid"):  # closure revoked it
        services.invitation_accept(token=token, user=user)
    org = type(org).objects.get(pk=org.pk)  # as the next request reads it
    with pytest.raises(NotAllowed, match="closed"):
        services.invitation_create(org=org, email="late@example.com", role=Role.MEMBER, by=owner_of(org))
    assert seat_count(org) == 1
