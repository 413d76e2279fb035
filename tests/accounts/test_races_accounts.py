"""Races on PostgreSQL between member changes: a demoted admin grants nothing after the demotion."""

import time

import pytest

from accounts import services
from accounts.models import Membership, Role
from billing_portal.audit.models import AuditEntry
from billing_portal.core.errors import BillingError
from tests.concurrency import run_concurrently
from tests.factories import add_member, make_org

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def owner_of(org):
    return Membership.objects.get(org=org, role=Role.OWNER, removed_at__isnull=True)


def test_an_admin_demoted_at_the_moment_they_grant_billing_read_grants_nothing_after_the_demotion():
    """The owner demotes an admin to member while that admin, on the Members tab, gives a member billing:read.
    Like removals and role changes (which re-read both memberships under lock), the grant must be decided on
    the admin's role as it is when it is written: a member cannot hand out billing access."""
    problems = []
    for round_ in range(20):
        org = make_org(name=f"Round {round_}", plan="team")
        admin, member = add_member(org, role=Role.ADMIN), add_member(org)

        def act(index, admin=admin, member=member, org=org, delay=(round_ % 10) * 0.002):
            if index == 0:
                return services.membership_change_role(membership=admin, role=Role.MEMBER, by=owner_of(org))
            by = Membership.objects.get(pk=admin.pk)  # the admin's request reads its membership first
            time.sleep(delay)  # ... and renders, validates, checks: a few milliseconds, more or less each round
            return services.membership_set_billing_read(
                membership=Membership.objects.get(pk=member.pk), allowed=True, by=by)

        demoted, granted = run_concurrently(act, 2)
        audit = list(AuditEntry.objects.filter(org=org).order_by("id").values_list("action", flat=True))
        late = (audit.index("membership.role_changed") < audit.index("membership.billing_read_changed")
                if "membership.billing_read_changed" in audit else False)
        raised = [r for r in (demoted, granted) if isinstance(r, BaseException) and not isinstance(r, BillingError)]
        if raised or late:
            problems.append((round_, demoted, granted, audit[-2:]))
    assert not problems, problems
