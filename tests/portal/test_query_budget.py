"""Every billing page runs the same number of queries on a tiny org as on one with 1,000 members, 2,000
invoices and 100,000 usage events."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import add_member, make_org
from tests.portal.bulk import grow
from tests.subscriptions.helpers import owner

PAGES = ["portal:overview", "portal:usage", "portal:credits", "portal:invoices", "portal:payment", "portal:plans",
         "portal:members", "portal:activity"]
BUDGET = 30


def queries_per_page(client, org):
    client.force_login(owner(org).user)
    counts = {}
    for page in PAGES:
        client.get(reverse(page))  # warm per-process caches (content types, templates)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse(page))
        assert response.status_code == 200, page
        counts[page] = len(captured)
    return counts


@pytest.mark.django_db
def test_pages_do_not_grow_with_members_invoices_or_usage(client):
    small = make_org(name="Small", plan="team")
    add_member(small)
    grow(small, members=3, invoices=2, events=20, ledger=2)
    baseline = queries_per_page(client, small)
    big = make_org(name="Big", plan="team")
    grow(big, members=1_000, invoices=2_000, events=100_000, ledger=2_000)
    client.logout()
    grown = queries_per_page(client, big)
    assert grown == baseline, {page: (baseline[page], grown[page]) for page in PAGES if grown[page] != baseline[page]}
    assert max(grown.values()) <= BUDGET, grown
