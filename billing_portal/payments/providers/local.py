"""The local provider: test cards decide what happens, like Stripe's test cards. Nothing leaves the machine."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from django.urls import reverse

from billing_portal.payments.models import TestCard
from billing_portal.payments.providers.base import (
    CancellationUpdate,
    ChargeRequest,
    ChargeResult,
    CheckoutRequest,
    CustomerUpdate,
    PaymentMethodSetupRequest,
    Redirect,
    RefundRequest,
    RefundResult,
    SeatQuantityUpdate,
    SubscriptionEnd,
)


class LocalProvider:
    name = "local"
    bills_subscriptions = False

    def charge(self, request: ChargeRequest) -> ChargeResult:
        reference = "ch_local_" + hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:24]
        card = request.payment_method.test_card
        if card == TestCard.SUCCEEDS:
            return ChargeResult(succeeded=True, reference=reference)
        if card == TestCard.NEEDS_ATTENTION:
            if request.on_session:  # the owner is here and confirms: authentication passes
                return ChargeResult(succeeded=True, reference=reference)
            return ChargeResult(
                succeeded=False,
                reference=reference,
                failure_code="authentication_required",
                failure_message="Your bank asks you to confirm this payment. Pay the invoice from the portal.",
            )
        if card == TestCard.DECLINES:
            return ChargeResult(
                succeeded=False, reference=reference, failure_code="card_declined",
                failure_message="Your card was declined.",
            )
        return ChargeResult(succeeded=False, failure_code="no_payment_method", failure_message="No card on file.")

    def refund(self, request: RefundRequest) -> RefundResult:
        """Payments made with a test card are refunded at once; the key makes a retried refund the same one."""
        if not request.charge_reference.startswith("ch_local_"):
            return RefundResult(
                succeeded=False, failure_code="unknown_charge", failure_message="Not a local test-card payment."
            )
        reference = "re_local_" + hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:24]
        return RefundResult(succeeded=True, reference=reference)

    def checkout(self, request: CheckoutRequest) -> Redirect:
        query = urlencode({"plan": request.plan_code, "interval": request.interval})
        return Redirect(url=f"{reverse('portal:plan-change')}?{query}")

    def payment_method_setup(self, request: PaymentMethodSetupRequest) -> Redirect:
        return Redirect(url=reverse("portal:payment"))

    # The portal is the billing system of record in local mode: these have nothing external to update.
    def set_seat_quantity(self, update: SeatQuantityUpdate) -> None:
        return None

    def set_cancellation(self, update: CancellationUpdate) -> None:
        return None

    def end_subscription(self, end: SubscriptionEnd) -> None:
        return None

    def update_customer(self, update: CustomerUpdate) -> None:
        return None
