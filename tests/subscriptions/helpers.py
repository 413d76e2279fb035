from datetime import datetime

from accounts.models import Membership, Organization, Role
from billing_portal.audit.services import Actor
from billing_portal.catalog.models import Plan
from billing_portal.subscriptions.services.clocks import org_clock_advance

ACTOR = Actor.system("tests")


def owner(org: Organization) -> Membership:
    return Membership.objects.get(org=org, role=Role.OWNER, removed_at__isnull=True)


def plan(code: str) -> Plan:
    return Plan.objects.get(code=code)


def advance(org: Organization, to: datetime) -> Organization:
    """Move the org's test clock (running what falls due) and return the org re-read."""
    org_clock_advance(org=org, to=to, actor=ACTOR)
    return Organization.objects.select_related("test_clock", "subscription__plan").get(pk=org.pk)
