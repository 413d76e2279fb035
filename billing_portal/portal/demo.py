"""Demo data for `make run`: orgs on several plans, with members, so every page shows something real."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts import services as accounts
from accounts.models import Membership, Organization, Role, User
from billing_portal.audit.services import Actor
from billing_portal.catalog.models import Interval, Plan

DEMO_PASSWORD = "demo-password-1"
ACTOR = Actor.system("seed_demo")


@dataclass(frozen=True)
class DemoOrg:
    name: str
    plan: str
    interval: str = Interval.MONTH
    trial: bool = False
    currency: str = "USD"
    timezone: str = "UTC"
    members: tuple[tuple[str, str], ...] = ()


OWNER_EMAIL = "owner@demo.test"
DEMO_ORGS = [
    DemoOrg(
        "Acme Robotics", "team", timezone="America/New_York",
        members=(("admin@demo.test", Role.ADMIN), ("finance@demo.test", Role.MEMBER),
                 ("member@demo.test", Role.MEMBER), ("viewer@demo.test", Role.VIEWER)),
    ),
    DemoOrg("Globex Trial", "pro", trial=True, timezone="Europe/Berlin", currency="EUR"),
    DemoOrg("Umbrella KK", "business", interval=Interval.YEAR, currency="JPY", timezone="Asia/Tokyo"),
    DemoOrg("Hooli Free", "free"),
]
STAFF_EMAIL = "staff@demo.test"


def _user(email: str, *, staff: bool = False) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = accounts.user_create(email=email, password=DEMO_PASSWORD, full_name=email.split("@")[0].title())
    if staff and not user.is_superuser:
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user


def _join(org: Organization, email: str, role: str) -> Membership:
    owner = Membership.objects.active().get(org=org, role=Role.OWNER)
    _, token = accounts.invitation_create(org=org, email=email, role=role, by=owner)
    return accounts.invitation_accept(token=token, user=_user(email))


def seed() -> list[tuple[str, str]]:
    """Create the demo orgs once; returns the demo logins (email, what it shows)."""
    with transaction.atomic():
        _user(STAFF_EMAIL, staff=True)
        owner = _user(OWNER_EMAIL)
        for spec in DEMO_ORGS:
            if Organization.objects.filter(name=spec.name).exists():
                continue
            org = accounts.org_sign_up(
                name=spec.name, owner=owner, actor=ACTOR, plan=Plan.objects.get(code=spec.plan),
                interval=spec.interval, trial=spec.trial, currency=spec.currency, timezone=spec.timezone,
            )
            for email, role in spec.members:
                membership = _join(org, email, role)
                if email.startswith("finance"):
                    accounts.membership_set_billing_read(
                        membership=membership, allowed=True, by=Membership.objects.get(org=org, role=Role.OWNER)
                    )
            for space in ("Research", "Production"):
                if spec.plan != "free" or space == "Research":
                    accounts.space_create(org=org, name=space)
    return [
        (OWNER_EMAIL, "OWNER of every demo org (org switcher)"),
        ("admin@demo.test", "ADMIN of Acme Robotics: sees billing, cannot change it"),
        ("finance@demo.test", "MEMBER with billing:read in Acme Robotics"),
        ("member@demo.test", "MEMBER of Acme Robotics: no billing pages"),
        (STAFF_EMAIL, "staff superuser: /admin/"),
    ]
