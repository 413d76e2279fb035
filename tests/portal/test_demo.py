from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from billing_portal.portal.demo import DEMO_PASSWORD, OWNER_EMAIL
from invoices.models import Invoice
from metering.models import UsageEvent


@pytest.mark.django_db
def test_seed_demo_gives_every_page_something_real_and_runs_once():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert OWNER_EMAIL in out.getvalue() and DEMO_PASSWORD in out.getvalue()
    counts = (Organization.objects.count(), Invoice.objects.count(), UsageEvent.objects.count(), User.objects.count())
    states = {org.name: (org.subscription.plan.code, org.subscription.status)
              for org in Organization.objects.select_related("subscription__plan")}
    assert states == {"Acme Robotics": ("team", "active"), "Globex Trial": ("pro", "trialing"),
                      "Umbrella KK": ("business", "active"), "Initech": ("starter", "past_due"),
                      "Hooli Free": ("free", "active")}
    assert Invoice.objects.filter(org__name="Acme Robotics", kind="renewal", status="paid").count() >= 3
    assert Invoice.objects.filter(org__name="Initech", status="past_due").count() == 1
    assert UsageEvent.objects.filter(org__name="Acme Robotics").count() > 1_000
    call_command("seed_demo", stdout=StringIO())
    assert (Organization.objects.count(), Invoice.objects.count(), UsageEvent.objects.count(),
            User.objects.count()) == counts

    client = Client()
    signed_in = client.post(reverse("login"), {"username": OWNER_EMAIL, "password": DEMO_PASSWORD})
    assert signed_in.status_code == 302  # the printed demo login works
    for org in Organization.objects.all():
        client.post(reverse("portal:switch-org"), {"org": org.pk})
        for page in ("overview", "usage", "credits", "invoices", "payment", "plans", "members", "activity"):
            response = client.get(reverse(f"portal:{page}"))
            assert response.status_code == 200, (org.name, page)
            assert org.name.encode() in response.content
