"""Changes that used to leave no audit entry: keys revoked by an account closure, Stripe deleting a draft."""

import pytest

from billing_portal.api.keys import api_key_create
from billing_portal.api.models import ApiKey
from billing_portal.audit.models import AuditEntry
from billing_portal.audit.services import Actor
from billing_portal.payments.stripe_customers import stripe_customer_ensure
from billing_portal.subscriptions.services.closure import org_request_closure
from invoices.models import Invoice
from tests.factories import make_org
from tests.stripe.builders import PERIOD_START, event, invoice, line
from tests.stripe.conftest import catalog, deliver, endpoint, fake_stripe, org  # noqa: F401  (fixtures)
from tests.subscriptions.helpers import owner

pytestmark = pytest.mark.django_db


def test_closing_an_account_audits_each_api_key_it_revokes():
    closing = make_org(name="Closing", plan="team")
    by = owner(closing)
    keys = [
        api_key_create(
            org=closing,
            name=name,
            kind="live",
            scopes=["usage"],
            actor=Actor.for_user(by.user),
            may_grant_billing_write=False,
        )[0]
        for name in ("ci", "prod")
    ]
    org_request_closure(org=closing, by=by, actor=Actor.for_user(by.user), reason="Moving on")
    assert not ApiKey.objects.filter(org=closing, revoked_at__isnull=True).exists()
    revoked = AuditEntry.objects.filter(org=closing, action="api_key.revoked")
    assert sorted(revoked.values_list("target_id", flat=True)) == sorted(str(key.pk) for key in keys)
    assert {(entry.actor_user, entry.reason) for entry in revoked} == {(by.user, "Account closure")}


def test_stripe_deleting_a_draft_is_audited(fake_stripe, catalog, org, deliver):  # noqa: F811
    customer = stripe_customer_ensure(org)
    draft = invoice(
        invoice_id="in_draft",
        customer=customer,
        sub_id="sub_acme",
        status="draft",
        lines=[line(price=catalog("bp:team:base:month:usd"), amount=4_900, quantity=1, description="Team")],
    )
    deliver(event("invoice.created", fake_stripe.put(draft), created=PERIOD_START + 10))
    mirror = Invoice.objects.get(stripe_invoice_id="in_draft")
    deliver(
        event(
            "invoice.deleted",
            {"id": "in_draft", "object": "invoice", "deleted": True},
            created=PERIOD_START + 20,
            event_id="evt_deleted",
        )
    )
    assert not Invoice.objects.filter(stripe_invoice_id="in_draft").exists()
    entry = AuditEntry.objects.get(action="invoice.stripe_deleted")
    assert (entry.org, entry.actor_kind, entry.actor_label, entry.target_id) == (
        org,
        "stripe",
        "evt_deleted",
        str(mirror.pk),
    )
