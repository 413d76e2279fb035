"""Stripe repairs staff run from admin: re-sync an org, reprocess a failed webhook, refund through Stripe."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import resolve, reverse
from djstripe.models import Customer, Event, WebhookEventTrigger
from djstripe.models import Subscription as StripeSubscription

from billing_portal.audit.models import AuditEntry
from billing_portal.core import clock
from billing_portal.payments.models import Charge, ChargeStatus, Refund, StripeEventReceipt
from billing_portal.payments.stripe_customers import stripe_customer_ensure
from billing_portal.subscriptions.models import Status, Subscription
from invoices.models import Invoice, InvoiceStatus
from tests.admin.conftest import change_url, changelist_url, last_entry, operation_url
from tests.factories import issue_invoice
from tests.stripe.builders import PERIOD_START, event, invoice, line
from tests.stripe.conftest import catalog, deliver, endpoint, fake_stripe, org, team  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def test_finance_resyncs_an_org_whose_webhooks_were_missed(client, login, fake_stripe, team, catalog, org):  # noqa: F811
    customer = team()["customer"]
    fake_stripe.put(
        invoice(
            invoice_id="in_missed",
            customer=customer,
            sub_id="sub_acme",
            status="paid",
            number="ACME-0001",
            amount_paid=8_500,
            finalized_at=PERIOD_START,
            paid_at=PERIOD_START,
            lines=[
                line(price=catalog("bp:team:base:month:usd"), amount=4_900, quantity=1, description="Team"),
                line(price=catalog("bp:team:seat:month:usd"), amount=3_600, quantity=3, description="Seats"),
            ],
        )
    )
    assert Subscription.objects.get(org=org).plan.code == "free"
    user = login("payments.resync_stripe")
    assert customer in client.get(operation_url(org, "resync-stripe")).content.decode()

    response = client.post(operation_url(org, "resync-stripe"), {})
    assert response.status_code == 302
    subscription = Subscription.objects.select_related("plan").get(org=org)
    assert (subscription.plan.code, subscription.seat_quantity, subscription.stripe_subscription_id) == (
        "team",
        3,
        "sub_acme",
    )
    mirror = Invoice.objects.get(stripe_invoice_id="in_missed")
    assert (mirror.status, mirror.total, mirror.number) == (InvoiceStatus.PAID, 8_500, "ACME-0001")
    receipts = StripeEventReceipt.objects.order_by("pk")
    assert [(r.event_type, r.outcome) for r in receipts] == [
        ("resync.subscription", "applied"),
        ("resync.invoice", "applied"),
    ]
    entry = last_entry("stripe.resynced")
    assert (entry.actor_kind, entry.actor_user, entry.org) == ("staff", user, org)
    assert entry.after["outcomes"] == {"applied": 2}
    assert last_entry("subscription.stripe_synced").actor_label == receipts[0].event_id

    client.post(operation_url(org, "resync-stripe"), {})  # nothing new: the same state, applied again
    assert Subscription.objects.get(org=org).seat_quantity == 3
    assert Invoice.objects.filter(stripe_invoice_id="in_missed").count() == 1


def test_resync_needs_a_stripe_customer_and_the_permission(client, login, fake_stripe, org):  # noqa: F811
    login("payments.refund_charge", "subscriptions.change_plan")
    assert client.post(operation_url(org, "resync-stripe"), {}).status_code == 403
    login("payments.resync_stripe")
    response = client.post(operation_url(org, "resync-stripe"), {})
    assert response.status_code == 200 and "has no Stripe customer" in response.content.decode()


def test_an_outage_during_resync_is_a_message_not_an_error(client, login, fake_stripe, team, org):  # noqa: F811
    team()
    fake_stripe.fail("GET", "/v1/subscriptions", 500, "api_error", "Down", "api_error")
    login("payments.resync_stripe")
    response = client.post(operation_url(org, "resync-stripe"), {})
    assert response.status_code == 200 and "Stripe could not be read; nothing was changed" in response.content.decode()
    assert not StripeEventReceipt.objects.exists()


@pytest.fixture
def failed_delivery(client, fake_stripe, team, deliver):  # noqa: F811
    """A subscription event whose processing failed: Stripe was down when dj-stripe re-fetched the object."""
    fake_stripe.fail("GET", "/v1/subscriptions/sub_acme", 500, "api_error", "Stripe is down", "api_error")
    client.raise_request_exception = False
    response = deliver(event("customer.subscription.created", team(), created=PERIOD_START + 60, event_id="evt_fail"))
    assert response.status_code == 500
    client.raise_request_exception = True
    trigger = WebhookEventTrigger.objects.get()
    assert (trigger.valid, trigger.processed) == (True, False) and trigger.exception
    return trigger


def test_finance_reprocesses_a_failed_webhook(client, login, fake_stripe, failed_delivery, org):  # noqa: F811
    user = login("payments.reprocess_stripe_event")
    assert client.get(changelist_url(WebhookEventTrigger)).status_code == 200
    again = client.post(operation_url(failed_delivery, "reprocess"), {})
    assert again.status_code == 200 and "Reprocessing failed again" in again.content.decode()
    assert not WebhookEventTrigger.objects.get().processed  # still down: kept as failed, nothing applied

    fake_stripe.failures.clear()
    assert client.post(operation_url(failed_delivery, "reprocess"), {}).status_code == 302
    trigger = WebhookEventTrigger.objects.get()
    assert (trigger.processed, trigger.exception, trigger.event_id) == (True, "", "evt_fail")
    assert Event.objects.filter(id="evt_fail").exists()
    assert StripeEventReceipt.objects.get(event_id="evt_fail").outcome == "applied"
    subscription = Subscription.objects.select_related("plan").get(org=org)
    assert (subscription.plan.code, subscription.status) == ("team", Status.ACTIVE)
    entry = last_entry("stripe_event.reprocessed")
    assert (entry.actor_kind, entry.actor_user, entry.org) == ("staff", user, org)
    assert entry.after["outcome"] == "applied" and "Stripe is down" in entry.before["exception"]

    done = client.post(operation_url(failed_delivery, "reprocess"), {})
    assert "processed already" in done.content.decode()


def test_support_cannot_see_or_reprocess_webhooks(client, login, failed_delivery):
    login("subscriptions.extend_trial", "accounts.view_organization")
    assert client.get(changelist_url(WebhookEventTrigger)).status_code == 403
    assert client.post(operation_url(failed_delivery, "reprocess"), {}).status_code == 403
    assert not WebhookEventTrigger.objects.get().processed


def paid_charge(invoice, *, provider, reference):
    return Charge.objects.create(
        org=invoice.org,
        invoice=invoice,
        amount=invoice.total,
        currency="USD",
        status=ChargeStatus.SUCCEEDED,
        provider=provider,
        provider_reference=reference,
        idempotency_key=f"charge:{reference}",
        created_at=clock.now(),
    )


def test_refunds_of_stripe_payments_go_through_stripe(client, login, fake_stripe, org):  # noqa: F811
    stripe_customer_ensure(org)
    paid = issue_invoice(org)
    charge = paid_charge(paid, provider="stripe", reference="ch_paid")
    login("payments.refund_charge")
    response = client.post(
        operation_url(paid, "refund"),
        {"charge": charge.pk, "amount": "5.00", "reason": "Late delivery", "key": "refund:abc"},
    )
    assert response.status_code == 302
    [call] = fake_stripe.calls("POST", "/v1/refunds")
    assert call.params == {
        "amount": "500",
        "charge": "ch_paid",
        "reason": "requested_by_customer",
        "metadata": {"note": "Late delivery"},
    }
    assert call.idempotency_key == "refund:abc"
    refund = Refund.objects.get()
    assert (refund.amount, refund.provider, refund.provider_reference) == (
        500,
        "stripe",
        fake_stripe.objects[refund.provider_reference]["id"],
    )
    assert last_entry("charge.refunded").after["refunded"] == 500


def test_a_payment_from_another_provider_is_not_refunded_here(client, login, fake_stripe, org):  # noqa: F811
    paid = issue_invoice(org)
    charge = paid_charge(paid, provider="local", reference="ch_local_x")
    login("payments.refund_charge")
    response = client.post(
        operation_url(paid, "refund"),
        {"charge": charge.pk, "amount": "5.00", "reason": "x", "key": "refund:def"},
    )
    assert response.status_code == 200 and "went through local, not stripe" in response.content.decode()
    assert not Refund.objects.exists() and not fake_stripe.calls("POST", "/v1/refunds")


def test_orgs_are_found_by_stripe_customer_id(client, login, fake_stripe, org):  # noqa: F811
    customer = stripe_customer_ensure(org)
    login("accounts.view_organization")
    url = changelist_url(type(org))
    assert change_url(org) in client.get(url, {"q": customer}).content.decode()
    assert change_url(org) not in client.get(url, {"q": "cus_nobody"}).content.decode()


@pytest.mark.parametrize(
    "action",
    [
        "/admin/djstripe/subscription/action/_cancel/subscription/",
        "/admin/djstripe/customer/action/_cancel/subscription/",
        "/admin/djstripe/customer/action/_resync_instances/customer/",
        "/admin/djstripe/customer/action/_sync_all_instances/customer/",
    ],
)
def test_dj_stripes_own_actions_are_gone_so_staff_cannot_call_stripe_around_the_portal(
    client, login, fake_stripe, team, action  # noqa: F811
):
    stripe_sub = StripeSubscription.sync_from_stripe_data(StripeSubscription.stripe_class.retrieve("sub_acme"))
    audited, sent = AuditEntry.objects.count(), len(fake_stripe.requests)
    login(superuser=True)  # not even a superuser: Stripe is changed through the audited operations
    assert resolve(action).url_name != "djstripe_custom_action"
    response = client.post(action, {"_selected_action": [stripe_sub.pk, Customer.objects.get().pk]})
    assert response.status_code == 302  # admin's "no such object" redirect
    assert len(fake_stripe.requests) == sent and AuditEntry.objects.count() == audited
    page = client.get(changelist_url(StripeSubscription))
    assert page.status_code == 200 and b'name="action"' not in page.content


def test_every_dj_stripe_list_searches_and_its_mirrors_are_read_only(client, login, fake_stripe, team):  # noqa: F811
    login(superuser=True)
    models = [model for model in admin.site._registry if model._meta.app_label == "djstripe"]
    assert len(models) > 30
    failed = [model.__name__ for model in models if client.get(changelist_url(model), {"q": "acme"}).status_code != 200]
    assert not failed
    customer = Customer.objects.get()
    assert client.get(change_url(customer)).status_code == 200
    assert client.post(change_url(customer), {"email": "x@example.com"}).status_code == 403
    assert client.get(reverse("admin:djstripe_customer_add")).status_code == 403
    assert client.get(reverse("admin:djstripe_webhookendpoint_add")).status_code == 200  # set-up stays possible
