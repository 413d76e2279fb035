"""Demo data for `make run`: orgs on several plans with months of history, so every page shows something real.

History is made by the product itself: each org signs up in the past and the billing jobs run at each period
boundary up to today (`clock.running_at`), so renewals, seat prorations, retries and credit windows are what
the real jobs produce. Usage goes through the same service as the API.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from accounts import services as accounts
from accounts.models import Membership, Organization, Role, User
from billing_portal.audit.services import Actor
from billing_portal.catalog.models import Interval, Plan
from billing_portal.core import clock
from billing_portal.payments.models import TestCard
from billing_portal.payments.services import payment_method_add_test_card
from billing_portal.subscriptions.jobs import run_due_jobs
from metering.models import TopupPack
from metering.selectors import current_window
from metering.services import UsageInput, cap_set, credits_topup_purchase, usage_record

DEMO_PASSWORD = "demo-password-1"
ACTOR = Actor.system("seed_demo")
OWNER_EMAIL = "owner@demo.test"
STAFF_EMAIL = "staff@demo.test"


@dataclass(frozen=True)
class DemoOrg:
    name: str
    plan: str
    days_ago: int  # when it signed up; the jobs then run every day up to today
    interval: str = Interval.MONTH
    trial: bool = False
    currency: str = "USD"
    timezone: str = "UTC"
    country: str = "US"
    card: str = TestCard.SUCCEEDS
    members: tuple[tuple[str, str], ...] = ()
    spaces: tuple[str, ...] = ("Research",)
    usage_per_day: int = 40  # tool calls per day in the current cycle, spread over members and spaces


DEMO_ORGS = [
    DemoOrg(
        "Acme Robotics", "team", days_ago=122, timezone="America/New_York", country="US",
        members=(("admin@demo.test", Role.ADMIN), ("finance@demo.test", Role.MEMBER),
                 ("member@demo.test", Role.MEMBER), ("viewer@demo.test", Role.VIEWER)),
        spaces=("Research", "Production", "Support bots"), usage_per_day=120,
    ),
    DemoOrg("Globex Trial", "pro", days_ago=4, trial=True, currency="EUR", timezone="Europe/Berlin", country="DE",
            card="", usage_per_day=25),
    DemoOrg("Umbrella KK", "business", days_ago=95, interval=Interval.YEAR, currency="JPY", timezone="Asia/Tokyo",
            country="JP", spaces=("Research", "Labs"), usage_per_day=80),
    # Its card starts failing: the renewal 3 days ago failed, one retry failed, the next one is tomorrow.
    DemoOrg("Initech", "starter", days_ago=33, card=TestCard.DECLINES, usage_per_day=15),
    DemoOrg("Hooli Free", "free", days_ago=32, card="", usage_per_day=0),
]


def _user(email: str, *, staff: bool = False) -> User:
    user = User.objects.filter(email=email).first() or accounts.user_create(
        email=email, password=DEMO_PASSWORD, full_name=email.split("@")[0].replace(".", " ").title())
    if staff and not user.is_superuser:
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user


def _owner(org: Organization) -> Membership:
    return Membership.objects.active().get(org=org, role=Role.OWNER)


def _fresh(org: Organization) -> Organization:
    return Organization.objects.select_related("subscription__plan", "test_clock").get(pk=org.pk)


def _sign_up(spec: DemoOrg, owner: User, started: datetime) -> Organization:
    with clock.running_at(started):
        org = accounts.org_sign_up(
            name=spec.name, owner=owner, actor=ACTOR, plan=Plan.objects.get(code=spec.plan),
            interval=spec.interval, trial=spec.trial, currency=spec.currency, timezone=spec.timezone,
            country=spec.country, test_card=TestCard.SUCCEEDS if spec.card == TestCard.DECLINES else spec.card,
        )
        org.billing_address = f"{spec.name}\n1 Demo Street\n{spec.timezone.split('/')[-1].replace('_', ' ')}"
        org.tax_id = {"DE": "DE811907980", "JP": "T1234567890123"}.get(spec.country, "")
        org.save(update_fields=["billing_address", "tax_id"])
        for email, role in spec.members:
            membership = accounts.invitation_accept(
                token=accounts.invitation_create(org=org, email=email, role=role, by=_owner(org))[1], user=_user(email))
            if email.startswith("finance"):
                accounts.membership_set_billing_read(membership=membership, allowed=True, by=_owner(org))
        for space in spec.spaces:
            accounts.space_create(org=org, name=space)
    return org


def _live_months(org: Organization, spec: DemoOrg, started: datetime) -> None:
    """Run the billing jobs day by day from sign-up to now, as beat would have."""
    if spec.card == TestCard.DECLINES:  # the card starts failing after the first payments
        with clock.running_at(started + timedelta(days=20)):
            payment_method_add_test_card(org=org, card=TestCard.DECLINES, actor=ACTOR)
    day = started
    now = clock.now()
    while day < now:
        day = min(day + timedelta(days=1), now)
        with clock.running_at(day):
            run_due_jobs(org=org)


def _usage(org: Organization, spec: DemoOrg, rng: random.Random) -> None:
    if not spec.usage_per_day:
        return
    org = _fresh(org)
    window = current_window(org)
    members = [m.user.email for m in Membership.objects.active().filter(org=org).select_related("user")]
    spaces = list(org.spaces.filter(read_only=False).values_list("slug", flat=True))
    now = clock.now()
    events = []
    day = window.start
    while day < now:
        for n in range(rng.randint(spec.usage_per_day // 2, spec.usage_per_day)):
            at = day + timedelta(seconds=rng.randint(0, min(86_399, int((now - day).total_seconds()))))
            kind = rng.random()
            common = {"user": rng.choice(members), "space": rng.choice(spaces) if spaces else "", "timestamp": at,
                      "agent": rng.choice(["triage-bot", "research-agent", "release-notes"]),
                      "success": rng.random() > 0.03}
            if kind < 0.55:
                events.append(UsageInput(key=f"demo-{at.timestamp()}-{n}", meter="tool_calls", quantity=1,
                                         integration=rng.choice(["web-search", "github", "code-interpreter"]),
                                         **common))
            elif kind < 0.85:
                events.append(UsageInput(key=f"demo-{at.timestamp()}-{n}", meter="ai_tokens",
                                         quantity=rng.randint(200, 2_000), byok=rng.random() < 0.1,
                                         model=rng.choice(["gpt-4o", "gpt-4o-mini", "claude-sonnet"]), **common))
            else:
                events.append(UsageInput(key=f"demo-{at.timestamp()}-{n}", meter="api_requests",
                                         quantity=rng.randint(1, 20), **common))
        for space in spaces:  # each space's daily storage report, in MB-days
            events.append(UsageInput(key=f"demo-storage-{space}-{day:%Y%m%d}", meter="storage", space=space,
                                     quantity=rng.randint(200, 900), user=members[0], timestamp=min(day, now)))
        day += timedelta(days=1)
    for start in range(0, len(events), 1_000):
        usage_record(org=_fresh(org), events=events[start:start + 1_000])


def _extras(org: Organization, spec: DemoOrg) -> None:
    """Things a real org accumulates: a top-up, a cap on a member, and a Free org close to its quota."""
    org = _fresh(org)
    owner = _owner(org)
    if spec.plan == "team":
        credits_topup_purchase(org=org, pack=TopupPack.objects.get(code="credits-5k"), by=owner, actor=ACTOR)
        member = Membership.objects.active().get(org=org, user__email="member@demo.test")
        cap_set(org=org, meter="tool_calls", limit=2_000, by=owner, member=member)
    if spec.plan == "free":
        usage_record(org=org, events=[UsageInput(key="demo-near-quota", meter="api_requests", quantity=52_500)])


def seed() -> list[tuple[str, str]]:
    """Create the demo orgs once; returns the demo logins (email, what it shows)."""
    rng = random.Random(2026)
    _user(STAFF_EMAIL, staff=True)
    owner = _user(OWNER_EMAIL)
    for spec in DEMO_ORGS:
        if Organization.objects.filter(name=spec.name).exists():
            continue
        started = clock.now() - timedelta(days=spec.days_ago)
        with transaction.atomic():
            org = _sign_up(spec, owner, started)
            _live_months(org, spec, started)
            _usage(org, spec, rng)
            _extras(org, spec)
    return [
        (OWNER_EMAIL, "OWNER of every demo org (org switcher)"),
        ("admin@demo.test", "ADMIN of Acme Robotics: sees billing, cannot change it"),
        ("finance@demo.test", "MEMBER with billing:read in Acme Robotics"),
        ("member@demo.test", "MEMBER of Acme Robotics: no billing pages"),
        ("viewer@demo.test", "VIEWER of Acme Robotics: no billing pages"),
        (STAFF_EMAIL, "staff superuser: /admin/"),
    ]
