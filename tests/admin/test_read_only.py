"""Ledgers, usage, invoices, the audit trail and an org's billing state are never edited by hand in admin."""

import pytest
from django.urls import reverse

from accounts.models import Membership
from billing_portal.audit.models import AuditEntry
from billing_portal.audit.services import Actor
from billing_portal.core.money import Money
from billing_portal.payments.models import Charge, Refund
from billing_portal.payments.refunds import charge_refund
from billing_portal.subscriptions.models import Subscription
from invoices.models import Invoice
from metering.models import CreditEntry, UsageEvent
from tests.admin.conftest import change_url, changelist_url
from tests.factories import add_member, issue_invoice, make_org
from tests.portal.bulk import grow

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    org = make_org(name="Acme", plan="team")
    add_member(org)
    grow(org, members=2, invoices=1, events=3, ledger=2)
    issue_invoice(org)
    return org


def rows(org):
    return [
        org,
        Membership.objects.filter(org=org).first(),
        Subscription.objects.get(org=org),
        CreditEntry.objects.filter(org=org).first(),
        UsageEvent.objects.filter(org=org).first(),
        Invoice.objects.filter(org=org).exclude(number=None).first(),
        AuditEntry.objects.filter(org=org).first(),
    ]


def test_even_a_superuser_can_only_look(client, login, org):
    login(superuser=True)
    for row in rows(org):
        page = client.get(change_url(row))
        assert page.status_code == 200, row._meta.label
        assert 'name="_save"' not in page.content.decode(), row._meta.label
        assert client.post(change_url(row), {"name": "Renamed", "role": "owner"}).status_code == 403, row._meta.label
        opts = row._meta
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 403
        delete = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[row.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403, row._meta.label
    org.refresh_from_db()
    assert org.name == "Acme"


def test_the_org_page_shows_its_billing_and_links_to_everything(client, login, org):
    login(superuser=True)
    page = client.get(change_url(org)).content.decode()
    for text in (
        "Team",
        "active members",
        "Balance",
        "Usage events",
        "All invoices",
        "Whole audit trail",
        "Whole ledger",
        "seat ledger",
        "Charges",
        "Refunds",
        "Payment methods",
    ):
        assert text in page, text
    for operation in ("grant-credits", "change-plan", "cancel", "assign-enterprise"):
        assert f"/do/{operation}/" in page, operation
    assert "/do/extend-trial/" not in page and "/do/advance-clock/" not in page  # not trialing, no test clock


def test_orgs_are_found_by_owner_email_stripe_ids_and_filtered_by_billing_state(client, login, org):
    trialing = make_org(name="Trying", plan="team", trial=True)
    login(superuser=True)
    owner = Membership.objects.get(org=org, role="owner").user.email

    def listed(**query):
        return client.get(changelist_url(type(org)), query).content.decode()

    assert change_url(org) in listed(q=owner) and change_url(trialing) not in listed(q=owner)
    Subscription.objects.filter(org=org).update(stripe_subscription_id="sub_found")
    assert change_url(org) in listed(q="sub_found")
    assert change_url(trialing) in listed(billing="trialing") and change_url(org) not in listed(billing="trialing")
    assert change_url(org) in listed(subscription__status__exact="active")
    team = Subscription.objects.get(org=org).plan_id
    assert change_url(org) in listed(subscription__plan__id__exact=team)
    Subscription.objects.filter(org=org).update(status="past_due")
    assert change_url(org) in listed(billing="past_due") and change_url(trialing) not in listed(billing="past_due")


def test_payments_and_refunds_list_money_in_the_currencys_own_units(client, login):
    org = make_org(name="Umbrella", plan="team", currency="JPY")
    charge = Charge.objects.get(org=org)
    refund = charge_refund(charge=charge, amount=Money(500, "JPY"), reason="Goodwill", actor=Actor.system("tests"),
                           idempotency_key="refund:yen")  # fmt: skip
    login(superuser=True)
    charges, refunds = (client.get(changelist_url(model)).content.decode() for model in (Charge, Refund))
    assert Money(charge.amount, "JPY").format() in charges and Money(refund.amount, "JPY").format() in refunds
    assert "¥500" in refunds
