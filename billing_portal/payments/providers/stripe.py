"""Stripe mode: Stripe bills the subscription; the portal asks for changes here and learns results by webhook.

Decisions:
- Upgrades switch prices at once and invoice the prorations immediately (`always_invoice`, with the quote's
  proration date); with `error_if_incomplete` nothing changes unless that invoice is paid.
- Changes at the period end (downgrades, cheaper intervals) go through a Stripe subscription schedule:
  the current phase keeps today's items until the period ends, the next phase has the new ones and lasts one
  interval, then the schedule releases the subscription. Changing back to the current items releases it.
- While a schedule is attached, seat changes rewrite its phases (so the next phase keeps the new seat count),
  and cancelling or upgrading releases it first: a cancellation or an upgrade replaces a scheduled downgrade.
- `charge` pays an open Stripe invoice (`ChargeRequest.invoice_reference`); Stripe collects renewals itself.
  The portal's own invoices (top-ups, an Enterprise assignment) are charged to the saved card with a
  PaymentIntent, whose id is the charge's reference (refunds name it).
"""

from __future__ import annotations

import uuid
from dataclasses import astuple
from datetime import timedelta

from accounts.models import Organization
from billing_portal.catalog.models import Plan
from billing_portal.core import clock
from billing_portal.core.errors import Conflict, InvalidInput
from billing_portal.core.money import Money
from billing_portal.payments import stripe_adapter
from billing_portal.payments.models import PriceComponent
from billing_portal.payments.providers.base import (
    CancellationUpdate,
    ChargeRequest,
    ChargeResult,
    CheckoutRequest,
    CustomerUpdate,
    PaymentDeclined,
    PaymentMethodSetupRequest,
    PlanChangeQuote,
    PlanChangeRequest,
    QuoteLine,
    Redirect,
    RefundRequest,
    RefundResult,
    SeatQuantityUpdate,
    SubscriptionEnd,
)
from billing_portal.payments.stripe_adapter import ItemChange, Schedule, SubscriptionState
from billing_portal.payments.stripe_catalog import current_price, mapped_prices
from billing_portal.payments.stripe_customers import stripe_customer_ensure, stripe_customer_id
from billing_portal.payments.stripe_objects import Item, Phase, moment

# Checkout refuses a trial that ends sooner than this; a local trial that close to its end is billed now.
CHECKOUT_MIN_TRIAL = timedelta(hours=48)


def _target_items(plan_code: str, currency: str, interval: str, seats: int) -> tuple[Item, ...]:
    """The base price (quantity 1) and, when the plan bills seats, the seat price with the seat count."""
    plan = Plan.objects.get(code=plan_code)
    items = []
    for component, quantity in ((PriceComponent.BASE, 1), (PriceComponent.SEAT, seats)):
        price = current_price(plan=plan, currency=currency, interval=interval, component=component)
        if price is not None:
            items.append(Item(price_id=price.stripe_price_id, quantity=quantity))
    if not items:
        raise InvalidInput(
            f"The {plan.name} plan is not set up for online payment in {currency}.", code="plan_not_in_stripe"
        )
    return tuple(items)


def _components(items: tuple[Item, ...]) -> dict[str, str]:
    """Stripe price id -> our component, for the prices we map."""
    mapping = mapped_prices([item.price_id for item in items])
    return {price_id: row.component for price_id, row in mapping.items()}


def _changes(state: SubscriptionState, target: tuple[Item, ...]) -> list[ItemChange]:
    """Move each component's item to its new price; add what is new, delete what the plan drops."""
    components = _components(state.items + target)
    existing = {components.get(item.price_id): item for item in state.items}
    wanted = {components[item.price_id]: item for item in target}
    changes = [
        ItemChange(
            price_id=item.price_id,
            quantity=item.quantity,
            item_id=existing[component].id if component in existing else "",
        )
        for component, item in wanted.items()
    ]
    changes += [
        ItemChange(item_id=item.id, deleted=True)
        for component, item in existing.items()
        if component is not None and component not in wanted
    ]
    return changes


def _with_seats(items: tuple[Item, ...], quantity: int, seat_prices: set[str]) -> tuple[Item, ...]:
    return tuple(
        Item(item.price_id, quantity) if item.price_id in seat_prices else Item(item.price_id, item.quantity)
        for item in items
    )


def _live_phases(phases: tuple[Phase, ...]) -> list[Phase]:
    """The current and future phases; Stripe's clock (not an org's test clock) decides which is current."""
    now = int(clock.now().timestamp())
    return [phase for phase in phases if phase.end is None or phase.end > now]


class StripeProvider:
    name = "stripe"
    bills_subscriptions = True

    def charge(self, request: ChargeRequest) -> ChargeResult:
        if not request.invoice_reference:
            return self._card_charge(request)
        try:
            status = stripe_adapter.invoice_pay(
                invoice_id=request.invoice_reference,
                off_session=not request.on_session,
                idempotency_key=request.idempotency_key,
            )
        except PaymentDeclined as declined:
            return ChargeResult(
                succeeded=False,
                reference=request.invoice_reference,
                failure_code=declined.code,
                failure_message=declined.message,
            )
        paid = status == "paid"
        return ChargeResult(
            succeeded=paid, reference=request.invoice_reference, failure_code="" if paid else status
        )

    def _card_charge(self, request: ChargeRequest) -> ChargeResult:
        customer_id = stripe_customer_id(Organization.objects.get(pk=request.org_id))
        card = request.payment_method.stripe_payment_method_id
        if not customer_id or not card:
            return ChargeResult(
                succeeded=False, failure_code="no_payment_method", failure_message="Add a card in Stripe first."
            )
        try:
            intent_id, status = stripe_adapter.payment_intent_charge(
                customer_id=customer_id,
                payment_method_id=card,
                amount=request.amount.amount,
                currency=request.amount.currency,
                description=request.description,
                off_session=not request.on_session,
                idempotency_key=request.idempotency_key,
            )
        except PaymentDeclined as declined:
            return ChargeResult(succeeded=False, failure_code=declined.code, failure_message=declined.message)
        if status == "succeeded":
            return ChargeResult(succeeded=True, reference=intent_id)
        return ChargeResult(  # e.g. requires_action: the bank wants the cardholder, who is not here to answer
            succeeded=False,
            reference=intent_id,
            failure_code=status,
            failure_message="The card needs the cardholder's confirmation; pay with another card.",
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        refund = stripe_adapter.refund_create(
            payment_reference=request.charge_reference,
            amount=request.amount.amount,
            note=request.reason,
            idempotency_key=request.idempotency_key,
        )
        if refund.status in ("succeeded", "pending"):
            return RefundResult(succeeded=True, reference=refund.id)
        return RefundResult(
            succeeded=False,
            reference=refund.id,
            failure_code=refund.status,
            failure_message=f"Stripe reports the refund as {refund.status}.",
        )

    def checkout(self, request: CheckoutRequest) -> Redirect:
        org = Organization.objects.get(pk=request.org_id)
        items = _target_items(request.plan_code, request.currency, request.interval, request.seats)
        trial_end = None
        if request.trial_end is not None and request.trial_end - clock.now() >= CHECKOUT_MIN_TRIAL:
            trial_end = int(request.trial_end.timestamp())
        session = stripe_adapter.checkout_subscription(
            customer_id=stripe_customer_ensure(org),
            items=items,
            org_id=org.pk,
            success_url=request.success_url,
            cancel_url=request.cancel_url,
            trial_end=trial_end,
        )
        return Redirect(url=session.url, reference=session.id)

    def payment_method_setup(self, request: PaymentMethodSetupRequest) -> Redirect:
        org = Organization.objects.get(pk=request.org_id)
        session = stripe_adapter.checkout_setup(
            customer_id=stripe_customer_ensure(org),
            currency=org.currency,
            org_id=org.pk,
            return_url=request.return_url,
        )
        return Redirect(url=session.url, reference=session.id)

    def set_seat_quantity(self, update: SeatQuantityUpdate) -> None:
        if not update.subscription_reference:
            return
        state = stripe_adapter.subscription_state(update.subscription_reference)
        phases = (
            _live_phases(stripe_adapter.schedule_get(state.schedule_id).phases) if state.schedule_id else []
        )
        every_item = state.items + tuple(item for phase in phases for item in phase.items)
        seat_prices = {price for price, component in _components(every_item).items() if component == "seat"}
        if phases:
            stripe_adapter.schedule_set_phases(
                schedule_id=state.schedule_id,
                idempotency_key=update.idempotency_key,
                phases=[
                    Phase(ph.start, ph.end, _with_seats(ph.items, update.quantity, seat_prices))
                    for ph in phases
                ],
            )
            return
        seat_item = next((item for item in state.items if item.price_id in seat_prices), None)
        if seat_item is not None:
            stripe_adapter.subscription_item_set_quantity(
                item_id=seat_item.id, quantity=update.quantity, idempotency_key=update.idempotency_key
            )

    def set_cancellation(self, update: CancellationUpdate) -> None:
        if not update.subscription_reference:
            return
        if update.cancel_at_period_end:
            state = stripe_adapter.subscription_state(update.subscription_reference)
            if state.schedule_id:
                stripe_adapter.schedule_release(
                    schedule_id=state.schedule_id, idempotency_key=f"{update.idempotency_key}:release"
                )
        stripe_adapter.subscription_set_cancel_at_period_end(
            subscription_id=update.subscription_reference,
            cancel=update.cancel_at_period_end,
            idempotency_key=update.idempotency_key,
        )

    def end_subscription(self, end: SubscriptionEnd) -> None:
        stripe_adapter.subscription_cancel_now(
            subscription_id=end.subscription_reference, idempotency_key=end.idempotency_key
        )

    def update_customer(self, update: CustomerUpdate) -> None:
        customer_id = stripe_customer_id(Organization.objects.get(pk=update.org_id))
        if customer_id is None:
            return  # no Stripe customer yet: it is created with the current details at the first checkout
        # A key per push: setting the same details twice is harmless, while a key made from the details would let
        # Stripe replay an earlier push of them (A, B, then A again within a day would leave Stripe on B).
        stripe_adapter.customer_update(
            customer_id=customer_id, details=update, idempotency_key=f"customer:{customer_id}:{uuid.uuid4().hex}"
        )

    def preview_plan_change(self, request: PlanChangeRequest) -> PlanChangeQuote:
        if request.at_period_end:
            return PlanChangeQuote(
                amount_due=Money.zero(request.currency), lines=(), proration_at=request.proration_at
            )
        state = stripe_adapter.subscription_state(request.subscription_reference)
        target = _target_items(request.plan_code, request.currency, request.interval, request.seats)
        preview = stripe_adapter.invoice_preview(
            customer_id=state.customer_id,
            subscription_id=state.id,
            changes=_changes(state, target),
            proration_date=int(request.proration_at.timestamp()),
        )
        currency = preview.currency
        lines = [
            QuoteLine(
                line.description,
                Money(line.amount, currency),
                moment(line.period_start),
                moment(line.period_end),
            )
            for line in preview.lines
        ]
        # Lines add up to what is due: Stripe's tax, then any account balance Stripe applies.
        if preview.tax:
            lines.append(QuoteLine("Tax", Money(preview.tax, currency)))
        if preview.total != preview.amount_due:
            lines.append(
                QuoteLine("Account balance applied", Money(preview.amount_due - preview.total, currency))
            )
        return PlanChangeQuote(
            amount_due=Money(preview.amount_due, currency),
            lines=tuple(lines),
            proration_at=request.proration_at,
        )

    def change_plan(self, request: PlanChangeRequest) -> None:
        state = stripe_adapter.subscription_state(request.subscription_reference)
        target = _target_items(request.plan_code, request.currency, request.interval, request.seats)
        if request.at_period_end:
            self._schedule(state, target, request)
            return
        # A scheduled change is let go first (a subscription on a schedule takes no direct update), and put back
        # if the upgrade is declined: Stripe then changed nothing, so the downgrade must still come.
        released = stripe_adapter.schedule_get(state.schedule_id) if state.schedule_id else None
        if released is not None:
            stripe_adapter.schedule_release(
                schedule_id=released.id, idempotency_key=f"{request.idempotency_key}:release"
            )
        try:
            stripe_adapter.subscription_upgrade(
                subscription_id=state.id,
                changes=_changes(state, target),
                proration_date=int(request.proration_at.timestamp()),
                idempotency_key=request.idempotency_key,
            )
        except PaymentDeclined:
            if released is not None:
                self._schedule_restore(state, released, request)
            raise

    @staticmethod
    def _schedule_restore(state: SubscriptionState, released: Schedule, request: PlanChangeRequest) -> None:
        later = _live_phases(released.phases)[1:]
        schedule = stripe_adapter.schedule_from_subscription(
            subscription_id=state.id, idempotency_key=f"{request.idempotency_key}:restore"
        )
        now_phase = next(iter(_live_phases(schedule.phases)), None)
        if now_phase is None or not later:
            return
        stripe_adapter.schedule_set_phases(
            schedule_id=schedule.id, idempotency_key=f"{request.idempotency_key}:restore-phases",
            phases=[now_phase, *later],
        )

    @staticmethod
    def _schedule(state: SubscriptionState, target: tuple[Item, ...], request: PlanChangeRequest) -> None:
        current = tuple(Item(item.price_id, item.quantity) for item in state.items)
        if sorted(astuple(item) for item in current) == sorted(astuple(item) for item in target):
            # Back to what the subscription already has: drop the scheduled change.
            if state.schedule_id:
                stripe_adapter.schedule_release(
                    schedule_id=state.schedule_id, idempotency_key=f"{request.idempotency_key}:release"
                )
            return
        if state.schedule_id:
            schedule = stripe_adapter.schedule_get(state.schedule_id)
        else:
            schedule = stripe_adapter.schedule_from_subscription(
                subscription_id=state.id, idempotency_key=f"{request.idempotency_key}:schedule"
            )
        now_phase = next(iter(_live_phases(schedule.phases)), None)
        if now_phase is None or now_phase.end is None:
            raise Conflict("Stripe has no current billing period for this subscription; try again shortly.")
        stripe_adapter.schedule_set_phases(
            schedule_id=schedule.id,
            idempotency_key=request.idempotency_key,
            phases=[now_phase, Phase(start=now_phase.end, end=None, items=target, interval=request.interval)],
        )
