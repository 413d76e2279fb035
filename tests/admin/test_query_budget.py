"""The admin pages of an org run as many queries with 1,000 members, 10,000 ledger rows and 10,000 usage
events as they do for a tiny org."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership
from billing_portal.audit.models import AuditEntry
from billing_portal.core import clock
from invoices.models import Invoice
from metering.models import CreditEntry, UsageEvent
from tests.admin.conftest import change_url, changelist_url, staff
from tests.factories import add_member, make_org
from tests.portal.bulk import grow

BUDGET = 40


def pages(org):
    filtered = f"?org__id__exact={org.pk}"
    return {
        "organization": change_url(org),
        "memberships": f"{changelist_url(Membership)}{filtered}&removed_at__isempty=1",
        "credit entries": changelist_url(CreditEntry) + filtered,
        "invoices": changelist_url(Invoice) + filtered,
        "usage events": changelist_url(UsageEvent) + filtered,
        "audit entries": changelist_url(AuditEntry) + filtered,
    }


def queries_per_page(client, org):
    counts = {}
    for name, url in pages(org).items():
        client.get(url)  # warm per-process caches (content types, templates)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, name
        counts[name] = len(captured)
    return counts


def audit_trail(org, entries):
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                at=clock.now(),
                org=org,
                org_label=org.slug,
                actor_kind="system",
                actor_label="bulk",
                action="credits.cycle_reset",
            )
            for _ in range(entries)
        ],
        batch_size=2_000,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("superuser", [True, False], ids=["superuser", "support"])
def test_org_admin_pages_do_not_grow_with_the_org(client, superuser):
    user = staff(superuser=superuser, group="" if superuser else "Support")
    client.force_login(user)
    small = make_org(name="Small", plan="team")
    add_member(small)
    grow(small, members=3, invoices=2, events=20, ledger=2)
    audit_trail(small, 2)
    baseline = queries_per_page(client, small)

    big = make_org(name="Big", plan="team")
    grow(big, members=1_000, invoices=300, events=10_000, ledger=10_000)
    audit_trail(big, 2_000)
    assert Membership.objects.filter(org=big).count() == 1_001 and CreditEntry.objects.filter(org=big).count() > 10_000
    grown = queries_per_page(client, big)
    assert grown == baseline, {page: (baseline[page], grown[page]) for page in grown if grown[page] != baseline[page]}
    assert max(grown.values()) <= BUDGET, grown
    print("admin queries per page:", grown)
