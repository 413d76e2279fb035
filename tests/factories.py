"""Factories build through the services, so tests exercise the same write paths the product does."""

from __future__ import annotations

from datetime import datetime

import factory

from accounts import services as account_services
from accounts.models import Membership, Organization, Role, User
from billing_portal.audit.services import Actor
from billing_portal.catalog.models import Interval, Plan

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
) -> Organization:
    """An org with an OWNER on `plan`; `clock_at` attaches a test clock frozen at that instant."""
    return account_services.org_sign_up(
        name=name,
        owner=owner or UserFactory(),
        actor=TEST_ACTOR,
        plan=Plan.objects.get(code=plan),
        interval=interval,
        trial=trial,
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
