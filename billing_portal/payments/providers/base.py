"""The payment boundary: plain dataclasses in and out, one provider per call.

`local` (the default) needs nothing external; `stripe` goes through dj-stripe. Business rules never import a
provider directly; they call `get_provider()` and speak in these types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from billing_portal.core.errors import BillingError
from billing_portal.core.money import Money


class ProviderUnavailable(BillingError):
    """The provider could not be reached or refused our credentials: nothing changed, try again later."""

    code = "payment_provider_unavailable"
    status = 503


class PaymentDeclined(BillingError):
    """The provider declined the payment a change needed (card declined, authentication required)."""

    code = "payment_declined"
    status = 402


@dataclass(frozen=True)
class PaymentMethodRef:
    test_card: str = ""
    stripe_payment_method_id: str = ""


@dataclass(frozen=True)
class ChargeRequest:
    org_id: int
    amount: Money
    description: str
    idempotency_key: str
    payment_method: PaymentMethodRef
    on_session: bool = False
    # The provider's own invoice this payment settles (Stripe mode pays that Stripe invoice).
    invoice_reference: str = ""


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    reference: str = ""
    failure_code: str = ""
    failure_message: str = ""


@dataclass(frozen=True)
class RefundRequest:
    """Give back `amount` of an earlier payment, named by the provider's reference for it."""

    org_id: int
    charge_reference: str
    amount: Money
    reason: str
    idempotency_key: str


# A refund is answered like a charge: whether it went through, the provider's reference, or why not.
RefundResult = ChargeResult


@dataclass(frozen=True)
class CheckoutRequest:
    org_id: int
    plan_code: str
    interval: str
    seats: int
    currency: str
    success_url: str
    cancel_url: str
    customer_email: str
    # A trial already under way locally: the provider starts billing only when it ends.
    trial_end: datetime | None = None


@dataclass(frozen=True)
class Redirect:
    url: str
    reference: str = ""


@dataclass(frozen=True)
class PaymentMethodSetupRequest:
    org_id: int
    return_url: str
    customer_email: str


@dataclass(frozen=True)
class SeatQuantityUpdate:
    org_id: int
    subscription_reference: str
    quantity: int
    idempotency_key: str


@dataclass(frozen=True)
class CancellationUpdate:
    org_id: int
    subscription_reference: str
    cancel_at_period_end: bool
    idempotency_key: str


@dataclass(frozen=True)
class SubscriptionEnd:
    """End a provider-billed subscription now: the org has moved to Free in the portal."""

    org_id: int
    subscription_reference: str
    idempotency_key: str


@dataclass(frozen=True)
class CustomerUpdate:
    org_id: int
    name: str
    email: str
    tax_id: str
    address: str
    country: str


@dataclass(frozen=True)
class PlanChangeRequest:
    """Move a provider-billed subscription to another plan/interval, now (prorated) or at period end."""

    org_id: int
    subscription_reference: str
    plan_code: str
    interval: str
    currency: str
    seats: int
    at_period_end: bool
    proration_at: datetime
    idempotency_key: str


@dataclass(frozen=True)
class QuoteLine:
    description: str
    amount: Money
    period_start: datetime | None = None
    period_end: datetime | None = None


@dataclass(frozen=True)
class PlanChangeQuote:
    """What a plan change costs today; confirming with the same `proration_at` charges exactly this."""

    amount_due: Money
    lines: tuple[QuoteLine, ...]
    proration_at: datetime


class PaymentProvider(Protocol):
    name: str
    # Whether the provider bills subscriptions itself (Stripe) or the portal invoices and charges (local).
    bills_subscriptions: bool

    def charge(self, request: ChargeRequest) -> ChargeResult: ...

    def refund(self, request: RefundRequest) -> RefundResult: ...

    def checkout(self, request: CheckoutRequest) -> Redirect: ...

    def payment_method_setup(self, request: PaymentMethodSetupRequest) -> Redirect: ...

    def set_seat_quantity(self, update: SeatQuantityUpdate) -> None: ...

    def set_cancellation(self, update: CancellationUpdate) -> None: ...

    def end_subscription(self, end: SubscriptionEnd) -> None: ...

    def update_customer(self, update: CustomerUpdate) -> None: ...


class SubscriptionBillingProvider(PaymentProvider, Protocol):
    """A provider that bills subscriptions itself (Stripe): plan changes go to it, and come back by webhook."""

    def preview_plan_change(self, request: PlanChangeRequest) -> PlanChangeQuote: ...

    def change_plan(self, request: PlanChangeRequest) -> None: ...
