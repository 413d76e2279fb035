"""The org's Stripe customer (dj-stripe's subscriber link) and the payment methods Stripe collects for it."""

from __future__ import annotations

from django.db import transaction
from djstripe.models import Customer
from djstripe.models import PaymentMethod as StripePaymentMethod
from djstripe.settings import djstripe_settings

from accounts.models import Organization
from billing_portal.audit.services import Actor, audit_record
from billing_portal.core import clock
from billing_portal.payments import stripe_adapter
from billing_portal.payments.models import MethodKind, PaymentMethod
from billing_portal.payments.services import customer_details, payment_method_make_default
from billing_portal.payments.stripe_events import Outcome, StripeEventRef, applied, ignored, newer_event_applied, stale


def stripe_customer_id(org: Organization) -> str | None:
    """The org's Stripe customer in the configured mode, if it has one (dj-stripe's subscriber link)."""
    return (
        Customer.objects.filter(
            subscriber=org, livemode=djstripe_settings.STRIPE_LIVE_MODE, date_purged__isnull=True
        )
        .values_list("id", flat=True)
        .first()
    )


def stripe_customer_ensure(org: Organization) -> str:
    existing = stripe_customer_id(org)
    if existing:
        return existing
    mode = "live" if djstripe_settings.STRIPE_LIVE_MODE else "test"
    data = stripe_adapter.customer_create(
        details=customer_details(org), idempotency_key=f"org:{org.pk}:customer:{mode}"
    )
    with transaction.atomic():
        customer = Customer.sync_from_stripe_data(data, api_key=djstripe_settings.STRIPE_SECRET_KEY)
        Customer.objects.filter(pk=customer.pk).update(subscriber=org)
    return str(customer.id)


def payment_method_adopt(*, org: Organization, payment_method_id: str, actor: Actor) -> PaymentMethod:
    """Make a payment method Stripe collected the org's default, in Stripe and in the portal; safe to repeat.

    Checkout puts a card on the subscription (subscription mode) or only on the customer (setup mode); both
    defaults are set so renewals and any later invoice use the newest card.
    """
    card = stripe_adapter.payment_method_card(payment_method_id)
    customer_id = stripe_customer_id(org)
    if customer_id:
        stripe_adapter.customer_set_default_payment_method(
            customer_id=customer_id,
            payment_method_id=payment_method_id,
            idempotency_key=f"default-method:{customer_id}:{payment_method_id}",
        )
    subscription_id = org.subscription.stripe_subscription_id
    if subscription_id:
        stripe_adapter.subscription_set_default_payment_method(
            subscription_id=subscription_id,
            payment_method_id=payment_method_id,
            idempotency_key=f"default-method:{subscription_id}:{payment_method_id}",
        )
    method = PaymentMethod(
        provider="stripe",
        kind=MethodKind.CARD if card.exp_month else MethodKind.BANK,
        brand=card.brand,
        bank_name="" if card.exp_month else card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        stripe_payment_method_id=payment_method_id,
    )
    return payment_method_make_default(org=org, method=method, actor=actor)


def payment_method_from_stripe(event: StripeEventRef) -> Outcome:
    """A card of the org's changed in Stripe: detached (in the dashboard, or by Stripe), or updated (the card
    network sent a new expiry or number). The portal's copy follows; a detached default leaves the org with no
    card, so the next renewal goes to dunning as it would in Stripe."""
    method = (
        PaymentMethod.objects.select_for_update()
        .select_related("org")
        .filter(stripe_payment_method_id=event.object_id, detached_at__isnull=True)
        .first()
    )
    if method is None:
        return ignored("not a payment method the portal holds")
    org = method.org
    if newer_event_applied(event):
        return stale(org)
    row = StripePaymentMethod.objects.filter(id=event.object_id).first()
    data = row.stripe_data if row is not None else {}
    before = {"method": str(method), "default": method.is_default}
    if event.type == "payment_method.detached" or not data.get("customer"):
        method.detached_at, method.is_default = clock.now(org=org), False
        action = "payment_method.detached"
    else:
        card = data.get("card") or {}
        method.brand = str(card.get("brand") or method.brand).title()
        method.last4 = str(card.get("last4") or method.last4)
        method.exp_month = int(card.get("exp_month") or method.exp_month or 0) or None
        method.exp_year = int(card.get("exp_year") or method.exp_year or 0) or None
        action = "payment_method.updated"
    method.save()
    audit_record(org=org, actor=Actor.stripe(event.id), action=action, target=method, before=before,
                 after={"method": str(method), "default": method.is_default})  # fmt: skip
    return applied(org)
