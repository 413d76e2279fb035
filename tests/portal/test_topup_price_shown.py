"""What the Credits page says a top-up costs is what the card is charged, tax included."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from billing_portal.core.money import Money
from billing_portal.payments.models import Charge
from invoices.models import Invoice, InvoiceKind
from tests.factories import make_org
from tests.subscriptions.helpers import owner

pytestmark = pytest.mark.django_db
JAN10 = datetime(2026, 1, 10, tzinfo=UTC)


def test_a_top_up_charges_what_the_credits_page_says_it_costs(client):
    """A German org (19% VAT): the pack costs $10.00 and the one-click purchase charges the card $11.90, which
    is what the page offers, naming the tax in it."""
    org = make_org(plan="team", clock_at=JAN10)
    org.country = "DE"
    org.save()
    client.force_login(owner(org).user)
    page = client.get(reverse("portal:credits"))
    html = page.content.decode()
    offer = re.sub(r"<[^>]+>", "", re.search(r'value="credits-1k"[^>]*>(.*?)</label>', html, re.S).group(1))
    form = {"pack": "credits-1k", "request_key": page.context["topup_form"]["request_key"].value()}
    client.post(reverse("portal:buy-topup"), form)
    invoice = Invoice.objects.get(org=org, kind=InvoiceKind.TOPUP)
    charged = Money(Charge.objects.get(invoice=invoice).amount, "USD").format()
    assert invoice.tax > 0
    assert charged in offer, (offer.strip(), charged)
    assert "incl. VAT" in offer
