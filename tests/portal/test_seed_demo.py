"""seed_demo: on an existing database, twice, with each demo org signed up on its own day."""

import json
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from accounts.models import Organization, User
from billing_portal.subscriptions.models import JobRun
from invoices.models import Invoice

pytestmark = pytest.mark.django_db


def test_seed_demo_on_an_existing_database_then_again():
    out = StringIO()
    call_command("create_org", "--name", "Existing Co", "--owner-email", "someone@example.com", "--plan", "pro",
                 "--no-trial", stdout=out)
    existing = json.loads(out.getvalue())
    call_command("seed_demo", stdout=StringIO())
    snapshot = (Organization.objects.count(), Invoice.objects.count(), User.objects.count(), JobRun.objects.count(),
                len(mail.outbox))
    call_command("seed_demo", stdout=StringIO())
    assert (Organization.objects.count(), Invoice.objects.count(), User.objects.count(), JobRun.objects.count(),
            len(mail.outbox)) == snapshot
    numbers = sorted(Invoice.objects.exclude(number=None).values_list("number", flat=True))
    by_year = {}
    for number in numbers:
        _, year, seq = number.split("-")
        by_year.setdefault(year, []).append(int(seq))
    for year, seqs in by_year.items():
        assert seqs == list(range(1, len(seqs) + 1)), (year, seqs)
    assert Invoice.objects.get(org_id=existing["org_id"]).number == existing["invoices"][0]


def test_seed_demo_orgs_are_created_when_they_signed_up():
    from datetime import timedelta

    from django.utils import timezone

    call_command("seed_demo", stdout=StringIO())
    hooli = Organization.objects.select_related("subscription").get(name="Hooli Free")
    acme = Organization.objects.select_related("subscription").get(name="Acme Robotics")
    now = timezone.now()
    facts = {
        "hooli_created_days_ago": (now - hooli.created_at).days,
        "acme_created_days_ago": (now - acme.created_at).days,
        "hooli_period": (hooli.subscription.current_period_start, hooli.subscription.current_period_end),
    }
    assert facts["hooli_created_days_ago"] == 32 and facts["acme_created_days_ago"] == 122, facts
    assert hooli.subscription.current_period_start <= now, facts  # Free resets on the sign-up day of the month
    assert (now - timedelta(days=32)).day == hooli.subscription.current_period_start.day, facts
