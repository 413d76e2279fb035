import pytest
from django.db import IntegrityError, transaction

from accounts import services
from accounts.models import Membership, Organization, Role
from billing_portal.audit.models import AuditEntry
from billing_portal.audit.services import Actor
from billing_portal.core.errors import InvalidInput, NotAllowed
from tests.concurrency import run_concurrently
from tests.factories import UserFactory, add_member, make_org

pytestmark = pytest.mark.django_db


def owner_of(org):
    return Membership.objects.get(org=org, role=Role.OWNER, removed_at__isnull=True)


def test_sign_up_makes_the_user_the_only_owner():
    user = UserFactory()
    org = make_org(owner=user)
    owners = Membership.objects.filter(org=org, role=Role.OWNER)
    assert [m.user for m in owners] == [user]
    assert org.subscription.plan.code == "free"


def test_database_refuses_a_second_owner():
    org = make_org(plan="team")
    member = add_member(org)
    member.role = Role.OWNER
    with pytest.raises(IntegrityError), transaction.atomic():
        member.save()


def test_transfer_moves_ownership_and_demotes_to_admin():
    org = make_org(plan="team")
    old = owner_of(org)
    new = add_member(org, role=Role.MEMBER)
    services.ownership_transfer(org=org, to=new, by=old)
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.role, new.role) == (Role.ADMIN, Role.OWNER)
    assert Membership.objects.filter(org=org, role=Role.OWNER, removed_at__isnull=True).count() == 1
    entry = AuditEntry.objects.get(org=org, action="ownership.transferred")
    assert entry.after == {"owner": new.user.email}


def test_only_the_owner_can_transfer():
    org = make_org(plan="team")
    admin = add_member(org, role=Role.ADMIN)
    member = add_member(org)
    with pytest.raises(NotAllowed):
        services.ownership_transfer(org=org, to=member, by=admin)
    with pytest.raises(InvalidInput):
        services.ownership_transfer(org=org, to=owner_of(org), by=owner_of(org))


def test_owner_cannot_be_removed_or_demoted():
    org = make_org(plan="team")
    owner = owner_of(org)
    admin = add_member(org, role=Role.ADMIN)
    with pytest.raises(NotAllowed):
        services.membership_remove(membership=owner, by=admin)
    with pytest.raises(NotAllowed):
        services.membership_remove(membership=owner, by=owner)
    with pytest.raises(NotAllowed):
        services.membership_change_role(membership=owner, role=Role.MEMBER, by=admin)


@pytest.mark.parametrize(
    ("actor_role", "invite_role", "allowed"),
    [
        (Role.OWNER, Role.ADMIN, True),
        (Role.OWNER, Role.MEMBER, True),
        (Role.OWNER, Role.OWNER, False),
        (Role.ADMIN, Role.MEMBER, True),
        (Role.ADMIN, Role.VIEWER, True),
        (Role.ADMIN, Role.ADMIN, False),
        (Role.MEMBER, Role.MEMBER, False),
        (Role.VIEWER, Role.VIEWER, False),
    ],
)
def test_who_may_invite_whom(actor_role, invite_role, allowed):
    org = make_org(plan="team")
    actor = owner_of(org) if actor_role == Role.OWNER else add_member(org, role=actor_role)
    if allowed:
        invitation, token = services.invitation_create(org=org, email="new@example.com", role=invite_role, by=actor)
        assert invitation.role == invite_role and token
    else:
        with pytest.raises(NotAllowed):
            services.invitation_create(org=org, email="new@example.com", role=invite_role, by=actor)


def test_admin_manages_members_but_not_admins():
    org = make_org(plan="team")
    admin = add_member(org, role=Role.ADMIN)
    other_admin = add_member(org, role=Role.ADMIN)
    member = add_member(org)
    services.membership_change_role(membership=member, role=Role.VIEWER, by=admin)
    assert Membership.objects.get(pk=member.pk).role == Role.VIEWER
    with pytest.raises(NotAllowed):
        services.membership_change_role(membership=member, role=Role.ADMIN, by=admin)
    with pytest.raises(NotAllowed):
        services.membership_remove(membership=other_admin, by=admin)
    services.membership_remove(membership=member, by=admin)
    assert Membership.objects.get(pk=member.pk).removed_at is not None


def test_billing_read_grant_is_recorded():
    org = make_org(plan="team")
    member = add_member(org)
    services.membership_set_billing_read(membership=member, allowed=True, by=owner_of(org))
    assert Membership.objects.get(pk=member.pk).billing_read is True
    assert AuditEntry.objects.filter(org=org, action="membership.billing_read_changed").count() == 1


def test_invitation_must_match_the_accepting_email():
    org = make_org(plan="team")
    _, token = services.invitation_create(org=org, email="right@example.com", role=Role.MEMBER, by=owner_of(org))
    with pytest.raises(NotAllowed):
        services.invitation_accept(token=token, user=UserFactory(email="wrong@example.com"))


def test_revoked_invitation_cannot_be_accepted():
    org = make_org(plan="team")
    invitation, token = services.invitation_create(
        org=org, email="later@example.com", role=Role.MEMBER, by=owner_of(org)
    )
    services.invitation_revoke(invitation=invitation, by=owner_of(org))
    with pytest.raises(InvalidInput):
        services.invitation_accept(token=token, user=UserFactory(email="later@example.com"))


@pytest.mark.parametrize(
    "act",
    [
        lambda member, admin: services.membership_remove(membership=member, by=admin),
        lambda member, admin: services.membership_change_role(membership=member, role=Role.VIEWER, by=admin),
    ],
    ids=["remove", "change role"],
)
def test_an_action_on_a_member_read_before_they_became_owner_is_refused(act):
    org = make_org(plan="team")
    admin, member = add_member(org, role=Role.ADMIN), add_member(org)
    read_by_the_admins_request = Membership.objects.get(pk=member.pk)
    services.ownership_transfer(org=org, to=member, by=owner_of(org))  # commits in between
    with pytest.raises(NotAllowed):
        act(read_by_the_admins_request, admin)
    assert list(Membership.objects.active().filter(org=org, role=Role.OWNER)) == [member]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sign_ups_with_the_same_name_at_once_get_two_slugs():
    people = [UserFactory() for _ in range(4)]
    results = run_concurrently(
        lambda n: services.org_sign_up(name="Same Name", owner=people[n], actor=Actor.for_user(people[n])), 4
    )
    assert all(isinstance(result, Organization) for result in results), results
    assert sorted(org.slug for org in results) == ["same-name", "same-name-2", "same-name-3", "same-name-4"]
