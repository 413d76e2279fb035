"""Plan and interval changes: upgrades now with an exact prorated charge, the rest at the period end.

Only the OWNER changes a plan (staff do it from admin with `by=None`). A preview and the confirmation that
follows use the same proration instant, so what the preview shows is exactly what is charged.
"""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from accounts import permissions
from billing_portal.audit.services import Actor, audit_record
from billing_portal.catalog.models import Interval, Meter, Plan, QuotaOverride
from billing_portal.catalog.selectors import free_plan, plan_is_free, plan_price
from billing_portal.core import clock
from billing_portal.core.errors import Conflict, InvalidInput, NotAllowed
from billing_portal.core.money import Money, sum_money
from billing_portal.payments.providers import get_provider
from billing_portal.payments.providers.base import (
    CancellationUpdate,
    CheckoutRequest,
    PaymentDeclined,
    PlanChangeRequest,
    SubscriptionBillingProvider,
    SubscriptionEnd,
)
from billing_portal.payments.services import invoice_collect
from billing_portal.subscriptions.models import SeatChange, Status, Subscription
from billing_portal.subscriptions.periods import Period, period_containing
from billing_portal.subscriptions.policy import capability_require
from billing_portal.subscriptions.services.credits import after_plan_change
from billing_portal.subscriptions.services.limits import members_over_limit, plan_limits_apply
from billing_portal.subscriptions.services.payment_state import subscription_sync_payment_state
from billing_portal.subscriptions.services.proration import (
    ChangeQuote,
    applies_now,
    is_current_plan,
    quote_change,
    subscription_recurring_lines,
)
from billing_portal.subscriptions.services.seats import (
    seat_proration_lines,
    seats_mark_settled,
    seats_pending,
    subscription_locked,
)
from invoices.account_credit import account_credit_to_spend
from invoices.models import InvoiceKind, LineKind
from invoices.services import LineSpec, invoice_issue, invoice_tax, invoice_void
from metering.services.rules import MAX_LIMIT

if TYPE_CHECKING:
    from accounts.models import Membership, Organization
    from invoices.models import Invoice

QUOTE_LIFETIME = timedelta(minutes=15)


@dataclass(frozen=True)
class ChangePreview:
    plan: Plan
    interval: str
    applies_now: bool
    effective_at: datetime
    proration_at: datetime
    lines: tuple[LineSpec, ...]
    subtotal: Money
    tax: Money
    account_credit: Money  # what the org's account credit pays of subtotal + tax
    tax_name: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def amount_due(self) -> Money:
        return Money(max((self.subtotal + self.tax - self.account_credit).amount, 0), self.subtotal.currency)

    @property
    def credited(self) -> Money:
        """A total below zero: what the org's account credit gains."""
        return Money(max(-(self.subtotal + self.tax).amount, 0), self.subtotal.currency)


@dataclass(frozen=True)
class ChangeOutcome:
    applied: bool  # the plan changed now (False: scheduled, redirected to checkout, or the payment failed)
    scheduled_for: datetime | None = None
    invoice: Invoice | None = None
    redirect_url: str = ""
    error: str = ""


def _require_owner(by: Membership | None) -> None:
    """`by` is the member acting in the portal or API; staff act from admin with `by=None`."""
    if by is not None and not permissions.can_change_billing(by):
        raise NotAllowed("Only the owner can change the plan, the interval or cancel.")


def _validate_target(subscription: Subscription, plan: Plan, interval: str, *, self_serve: bool) -> None:
    if interval not in Interval.values:
        raise InvalidInput("Choose monthly or yearly billing.", fields={"interval": ["Choose month or year."]})
    capability_require(subscription.status, "change_plan")
    if self_serve and plan.is_contact_sales:
        raise NotAllowed(f"{plan.name} is arranged with our sales team; contact sales to move to it.",
                         code="contact_sales")
    if self_serve and not plan.is_public and plan.pk != subscription.plan_id:
        raise InvalidInput("That plan is not available.", fields={"plan": ["Not available."]})
    plan_price(plan, subscription.currency)
    if is_current_plan(subscription, plan, interval):
        raise InvalidInput("That is already your plan.", code="no_change")


def _warnings(subscription: Subscription, plan: Plan) -> tuple[str, ...]:
    warnings = []
    leaving = members_over_limit(subscription.org, plan).count()
    if leaving:
        warnings.append(f"{leaving} member{'s' if leaving != 1 else ''} beyond the {plan.name} plan's limit "
                        "will lose access (newest first); you can re-invite them after an upgrade.")
    if subscription.plan.pooled_credits and not plan.pooled_credits:
        warnings.append("Pooled credits, top-ups included, are lost when the change takes effect.")
    return tuple(warnings)


def _stripe_request(subscription: Subscription, plan: Plan, interval: str, *, at: datetime,
                    at_period_end: bool) -> PlanChangeRequest:
    return PlanChangeRequest(
        org_id=subscription.org_id,
        subscription_reference=subscription.stripe_subscription_id,
        plan_code=plan.code,
        interval=interval,
        currency=subscription.currency,
        seats=subscription.seat_quantity,
        at_period_end=at_period_end,
        proration_at=at,
        idempotency_key=f"plan-change:{subscription.pk}:{plan.code}:{interval}:{int(at.timestamp())}",
    )


def _with_pending_seats(
    subscription: Subscription, lines: list[LineSpec], pending: list[SeatChange] | None = None
) -> list[LineSpec]:
    """Seat prorations not yet invoiced (`pending`, when the caller has them) ride along on the next invoice, as
    Stripe's pending items do."""
    pending = seats_pending(subscription) if pending is None else pending
    return lines + seat_proration_lines(pending, subscription.org.tz)


def subscription_preview_change(
    *, org: Organization, plan: Plan, interval: str, by: Membership | None = None, at: datetime | None = None
) -> ChangePreview:
    subscription = org.subscription
    _validate_target(subscription, plan, interval, self_serve=by is not None)
    at = at or clock.now(org=org)
    now = applies_now(subscription, plan, interval)
    if not now:
        lines: tuple[LineSpec, ...] = ()
    elif get_provider().bills_subscriptions and subscription.stripe_subscription_id:
        billing = cast(SubscriptionBillingProvider, get_provider())
        quote = billing.preview_plan_change(_stripe_request(subscription, plan, interval, at=at, at_period_end=False))
        lines = tuple(LineSpec(LineKind.PLAN_PRORATION, line.description, line.amount) for line in quote.lines)
    else:
        local = quote_change(subscription=subscription, plan=plan, interval=interval, at=at)
        lines = tuple(_with_pending_seats(subscription, list(local.lines))) if local.lines else ()
    subtotal = sum_money([line.amount for line in lines], subscription.currency)
    # Stripe's quote lines already carry its tax; the local provider taxes like finalization does.
    billed_by_stripe = get_provider().bills_subscriptions and bool(subscription.stripe_subscription_id)
    tax = invoice_tax(country="" if billed_by_stripe else org.country, subtotal=subtotal)
    return ChangePreview(
        plan=plan,
        interval=interval,
        applies_now=now,
        effective_at=at if now else subscription.current_period_end,
        proration_at=at,
        lines=lines,
        subtotal=subtotal,
        tax=tax.amount,
        # Stripe spends its own customer balance, which its quote lines show.
        account_credit=Money.zero(subtotal.currency) if billed_by_stripe or not lines
        else account_credit_to_spend(org, subtotal + tax.amount),
        tax_name=tax.name,
        warnings=_warnings(subscription, plan),
    )


def subscription_change_plan(
    *,
    org: Organization,
    plan: Plan,
    interval: str,
    by: Membership | None,
    actor: Actor,
    proration_at: datetime | None = None,
    expected_amount: Money | None = None,
) -> ChangeOutcome:
    """Change now (charging the quoted amount) or at the period end, whichever the change calls for."""
    _require_owner(by)
    subscription = org.subscription
    _validate_target(subscription, plan, interval, self_serve=by is not None)
    if plan_is_free(plan, subscription.currency) and not applies_now(subscription, plan, interval):
        return subscription_cancel(org=org, by=by, actor=actor)
    if not applies_now(subscription, plan, interval):
        return _schedule_change(subscription, plan, interval, actor)
    provider = get_provider()
    if provider.bills_subscriptions and not plan_is_free(plan, subscription.currency):
        return _change_with_provider(subscription, plan, interval, actor, proration_at, expected_amount)
    return _change_locally(subscription, plan, interval, actor, proration_at, expected_amount)


def _check_quote_time(subscription: Subscription, proration_at: datetime | None) -> datetime:
    now = clock.now(org=subscription.org)
    if proration_at is None:
        return now
    if not (now - QUOTE_LIFETIME <= proration_at <= now) or proration_at < subscription.current_period_start:
        raise Conflict("This price quote has expired; review the new amount and confirm again.", code="quote_expired")
    return proration_at


def _change_locally(
    subscription: Subscription, plan: Plan, interval: str, actor: Actor,
    proration_at: datetime | None, expected_amount: Money | None,
) -> ChangeOutcome:
    org = subscription.org
    with transaction.atomic():
        subscription = subscription_locked(org)
        capability_require(subscription.status, "change_plan")  # again, under the lock: closed meanwhile?
        at = _check_quote_time(subscription, proration_at)
        if plan_is_free(plan, subscription.currency):
            subscription_switch_to_free(subscription=subscription, actor=actor, reason="Moved to Free")
            return ChangeOutcome(applied=True)
        quote = quote_change(subscription=subscription, plan=plan, interval=interval, at=at)
        invoice = None
        if quote.lines:
            pending = seats_pending(subscription)
            invoice = invoice_issue(
                org=org, kind=InvoiceKind.UPGRADE, currency=subscription.currency,
                lines=_with_pending_seats(subscription, list(quote.lines), pending),
                period=Period(at, quote.period.end), actor=actor, subscription=subscription,
            )
            # Nothing may change if the total moved since the preview (a seat was added in between, say).
            if expected_amount is not None and invoice.amount_due != expected_amount:
                raise _price_changed()
            result = invoice_collect(invoice=invoice, actor=actor, on_session=True)
            if not result.succeeded:  # the void stays on record; the pending seats wait for the next invoice
                invoice = invoice_void(invoice=invoice, actor=actor,
                                       reason=f"Plan change not paid: {result.failure_code}")
                return ChangeOutcome(applied=False, invoice=invoice, error=result.failure_message)
            seats_mark_settled(pending, invoice)
            invoice.refresh_from_db()
        _apply(subscription, quote, actor)
    return ChangeOutcome(applied=True, invoice=invoice)


def _apply(subscription: Subscription, quote: ChangeQuote, actor: Actor) -> None:
    before = {"plan": subscription.plan.code, "interval": subscription.interval, "status": subscription.status}
    subscription.plan, subscription.interval = quote.plan, quote.interval
    if quote.new_cycle:
        subscription.billing_anchor = quote.proration_at
        subscription.current_period_start, subscription.current_period_end = quote.period.start, quote.period.end
        subscription.status = Status.ACTIVE
        subscription.past_due_since = None
    subscription.scheduled_plan, subscription.scheduled_interval = None, ""
    subscription.cancel_at_period_end = False
    subscription.save()
    plan_limits_apply(org=subscription.org, plan=quote.plan, actor=actor)
    after_plan_change(org=subscription.org, actor=actor)
    audit_record(org=subscription.org, actor=actor, action="subscription.plan_changed", target=subscription,
                 before=before, after={"plan": quote.plan.code, "interval": quote.interval,
                                       "status": subscription.status,
                                       "charged": quote.amount_due.amount if quote.lines else 0})


def _checkout_request(subscription: Subscription, plan: Plan, interval: str, *, success_url: str,
                      cancel_url: str) -> CheckoutRequest:
    """A first paid subscription billed by the provider: base plus seats, carrying a local trial along."""
    return CheckoutRequest(
        org_id=subscription.org_id, plan_code=plan.code, interval=interval, seats=subscription.seat_quantity,
        currency=subscription.currency, customer_email=subscription.org.billing_email,
        success_url=success_url, cancel_url=cancel_url,
        trial_end=subscription.trial_end if subscription.status == Status.TRIALING else None,
    )


def subscription_checkout_url(
    *, org: Organization, plan: Plan, interval: str, by: Membership, success_url: str, cancel_url: str
) -> str:
    """Where a plan change starts for a client app (Checkout's URL, or a portal path); nothing is charged before a
    person confirms.

    A first paid subscription billed by Stripe starts in Stripe Checkout, where the customer confirms by paying.
    Every other change (and every change in local mode) opens the portal page where the owner reviews the exact
    amount. The preview applies the portal's rules first (contact sales, no change, currency).
    """
    preview = subscription_preview_change(org=org, plan=plan, interval=interval, by=by)
    subscription = org.subscription
    provider = get_provider()
    first_paid = not subscription.stripe_subscription_id and not plan_is_free(plan, subscription.currency)
    if preview.applies_now and first_paid and provider.bills_subscriptions:
        request = _checkout_request(subscription, plan, interval, success_url=success_url, cancel_url=cancel_url)
        return provider.checkout(request).url
    return f"{reverse('portal:plan-change')}?{urlencode({'plan': plan.code, 'interval': interval})}"


def _price_changed() -> Conflict:
    return Conflict("The price changed since you reviewed it; review the new amount.", code="price_changed")


def _change_with_provider(subscription: Subscription, plan: Plan, interval: str, actor: Actor,
                          proration_at: datetime | None, expected_amount: Money | None) -> ChangeOutcome:
    """Stripe bills the change; the local subscription follows when Stripe's webhook arrives."""
    at = _check_quote_time(subscription, proration_at)
    provider = get_provider()
    if not subscription.stripe_subscription_id:
        redirect = provider.checkout(_checkout_request(
            subscription, plan, interval, success_url=f"{settings.PORTAL_BASE_URL}/billing/?checkout=success",
            cancel_url=f"{settings.PORTAL_BASE_URL}/billing/plans/"))
        return ChangeOutcome(applied=False, redirect_url=redirect.url)
    billing = cast(SubscriptionBillingProvider, provider)
    request = _stripe_request(subscription, plan, interval, at=at, at_period_end=False)
    # Stripe charges what it computes now: nothing is sent if that is no longer what the owner confirmed.
    if expected_amount is not None and billing.preview_plan_change(request).amount_due != expected_amount:
        raise _price_changed()
    try:
        billing.change_plan(request)
    except PaymentDeclined as declined:
        return ChangeOutcome(applied=False, error=declined.message)
    audit_record(org=subscription.org, actor=actor, action="subscription.plan_change_requested", target=subscription,
                 after={"plan": plan.code, "interval": interval, "provider": provider.name})
    return ChangeOutcome(applied=False)


def _schedule_change(subscription: Subscription, plan: Plan, interval: str, actor: Actor) -> ChangeOutcome:
    with transaction.atomic():
        subscription = subscription_locked(subscription.org)
        capability_require(subscription.status, "change_plan")
        provider = get_provider()
        if provider.bills_subscriptions and subscription.stripe_subscription_id:
            billing = cast(SubscriptionBillingProvider, provider)
            billing.change_plan(_stripe_request(subscription, plan, interval, at=clock.now(org=subscription.org),
                                                at_period_end=True))
        subscription.scheduled_plan, subscription.scheduled_interval = plan, interval
        subscription.cancel_at_period_end = False
        subscription.save(update_fields=["scheduled_plan", "scheduled_interval", "cancel_at_period_end", "updated_at"])
        audit_record(org=subscription.org, actor=actor, action="subscription.change_scheduled", target=subscription,
                     before={"plan": subscription.plan.code, "interval": subscription.interval},
                     after={"plan": plan.code, "interval": interval, "at": subscription.current_period_end})
    return ChangeOutcome(applied=False, scheduled_for=subscription.current_period_end)


def _transition_key(kind: str, subscription: Subscription) -> str:
    """One Stripe idempotency key per change of state: a retry of the same change reuses it, while cancelling
    again after an undo gets a new one (Stripe answers a reused key from its cache and applies nothing)."""
    return f"{kind}:{subscription.pk}:{subscription.updated_at.isoformat()}"


def subscription_cancel(*, org: Organization, by: Membership | None, actor: Actor, reason: str = "") -> ChangeOutcome:
    """Back to Free at the period end (at once when nothing is being paid for: a trial ended without a card)."""
    _require_owner(by)
    with transaction.atomic():
        subscription = subscription_locked(org)
        capability_require(subscription.status, "change_plan")
        if plan_is_free(subscription.plan, subscription.currency):
            raise InvalidInput("The Free plan has nothing to cancel.", code="no_change")
        if subscription.cancel_at_period_end and subscription.scheduled_plan is None:  # asked before: nothing new
            return ChangeOutcome(applied=False, scheduled_for=subscription.current_period_end)
        if subscription.status == Status.PAUSED:
            subscription_switch_to_free(subscription=subscription, actor=actor, reason=reason or "Canceled")
            return ChangeOutcome(applied=True)
        get_provider().set_cancellation(CancellationUpdate(
            org_id=org.pk, subscription_reference=subscription.stripe_subscription_id, cancel_at_period_end=True,
            idempotency_key=_transition_key("cancel", subscription),
        ))
        subscription.cancel_at_period_end = True
        subscription.scheduled_plan, subscription.scheduled_interval = None, ""
        subscription.save(update_fields=["cancel_at_period_end", "scheduled_plan", "scheduled_interval", "updated_at"])
        audit_record(org=org, actor=actor, action="subscription.cancel_scheduled", target=subscription,
                     after={"at": subscription.current_period_end}, reason=reason)
    return ChangeOutcome(applied=False, scheduled_for=subscription.current_period_end)


def subscription_undo_scheduled_change(*, org: Organization, by: Membership | None, actor: Actor) -> None:
    """Keep the current plan: drop a scheduled downgrade or cancellation before the period ends."""
    _require_owner(by)
    with transaction.atomic():
        subscription = subscription_locked(org)
        capability_require(subscription.status, "change_plan")  # a closed account's cancel is for good
        if not subscription.has_scheduled_change:
            raise InvalidInput("There is no scheduled change to undo.", code="no_change")
        before = {"cancel_at_period_end": subscription.cancel_at_period_end,
                  "scheduled_plan": subscription.scheduled_plan.code if subscription.scheduled_plan else None}
        if subscription.cancel_at_period_end:
            get_provider().set_cancellation(CancellationUpdate(
                org_id=org.pk, subscription_reference=subscription.stripe_subscription_id, cancel_at_period_end=False,
                idempotency_key=_transition_key("resume", subscription),
            ))
        elif get_provider().bills_subscriptions and subscription.stripe_subscription_id:
            billing = cast(SubscriptionBillingProvider, get_provider())
            billing.change_plan(_stripe_request(subscription, subscription.plan, subscription.interval,
                                                at=clock.now(org=org), at_period_end=True))
        subscription.cancel_at_period_end = False
        subscription.scheduled_plan, subscription.scheduled_interval = None, ""
        subscription.save(update_fields=["cancel_at_period_end", "scheduled_plan", "scheduled_interval", "updated_at"])
        audit_record(org=org, actor=actor, action="subscription.scheduled_change_undone", target=subscription,
                     before=before, after={"plan": subscription.plan.code})


def negotiated_terms_drop(subscription: Subscription) -> None:
    """Leaving Enterprise: its negotiated prices (set here, saved by the caller) and quotas no longer apply."""
    subscription.custom_base_price = subscription.custom_seat_price = None
    QuotaOverride.objects.filter(org_id=subscription.org_id).delete()


def subscription_switch_to_free(*, subscription: Subscription, actor: Actor, reason: str) -> bool:
    """Move to Free now, resetting on the sign-up day of month; returns whether it moved: a closed account
    (canceled) stays closed, and an org on Free already stays as it is. Call with the subscription locked."""
    if subscription.status == Status.CANCELED or subscription.plan_id == free_plan().pk:
        return False
    org = subscription.org
    before = {"plan": subscription.plan.code, "interval": subscription.interval, "status": subscription.status}
    if subscription.stripe_subscription_id:  # a trial or a paused subscription Stripe would go on billing
        get_provider().end_subscription(SubscriptionEnd(
            org_id=org.pk, subscription_reference=subscription.stripe_subscription_id,
            idempotency_key=f"end:{subscription.stripe_subscription_id}"))
        before["stripe_subscription"] = subscription.stripe_subscription_id
        subscription.stripe_subscription_id = ""
    free = free_plan()
    period = period_containing(org.created_at, Interval.MONTH, org.tz, clock.now(org=org))
    subscription.plan, subscription.interval, subscription.status = free, Interval.MONTH, Status.ACTIVE
    subscription.billing_anchor = org.created_at
    subscription.current_period_start, subscription.current_period_end = period.start, period.end
    subscription.cancel_at_period_end = False
    subscription.scheduled_plan, subscription.scheduled_interval = None, ""
    subscription.past_due_since = None
    negotiated_terms_drop(subscription)
    subscription.save()
    plan_limits_apply(org=org, plan=free, actor=actor)
    after_plan_change(org=org, actor=actor)
    audit_record(org=org, actor=actor, action="subscription.plan_changed", target=subscription, before=before,
                 after={"plan": free.code, "interval": Interval.MONTH, "status": Status.ACTIVE}, reason=reason)
    return True


def _enterprise_lines(
    subscription: Subscription, interval: str, base_price: Money, seat_price: Money, at: datetime
) -> tuple[list[LineSpec], Period, list[SeatChange]]:
    """What moving to Enterprise at `at` bills: the unused time of the current plan credited, the first period
    at the negotiated prices, and the seat prorations still pending."""
    if {base_price.currency, seat_price.currency} != {subscription.currency}:
        raise InvalidInput(f"Prices must be in the org's currency, {subscription.currency}.")
    enterprise = Plan.objects.get(code="enterprise")
    unused = quote_change(subscription=subscription, plan=enterprise, interval=interval, at=at)
    priced = copy(subscription)  # the negotiated terms, not saved
    priced.custom_base_price, priced.custom_seat_price = base_price.amount, seat_price.amount
    priced.plan, priced.interval = enterprise, interval
    period = period_containing(at, interval, subscription.org.tz, at)
    unused_credit = [line for line in unused.lines if line.amount.amount < 0]
    pending = seats_pending(subscription)
    lines = _with_pending_seats(priced, unused_credit + subscription_recurring_lines(priced, period), pending)
    return lines, period, pending


def subscription_preview_enterprise(
    *, org: Organization, interval: str, base_price: Money, seat_price: Money
) -> ChangePreview:
    """What assigning Enterprise would charge now, tax included: staff confirm this amount."""
    subscription = org.subscription
    at = clock.now(org=org)
    lines, _, _ = _enterprise_lines(subscription, interval, base_price, seat_price, at)
    subtotal = sum_money([line.amount for line in lines], subscription.currency)
    tax = invoice_tax(country=org.country, subtotal=subtotal)
    return ChangePreview(plan=Plan.objects.get(code="enterprise"), interval=interval, applies_now=True,
                         effective_at=at, proration_at=at, lines=tuple(lines), subtotal=subtotal, tax=tax.amount,
                         account_credit=account_credit_to_spend(org, subtotal + tax.amount), tax_name=tax.name)


def subscription_assign_enterprise(
    *, org: Organization, interval: str, base_price: Money, seat_price: Money, quotas: dict[str, int | None],
    actor: Actor, proration_at: datetime | None = None, expected_amount: Money | None = None,
) -> Invoice | None:
    """Staff put an org on Enterprise with negotiated prices and quotas; billing starts a new period now. With a
    preview's `proration_at` and `expected_amount`, nothing changes unless it still costs that."""
    enterprise = Plan.objects.get(code="enterprise")
    with transaction.atomic():
        subscription = subscription_locked(org)
        if subscription.status == Status.CANCELED:
            raise NotAllowed("This account is closed; it cannot be put on Enterprise.")
        if subscription.stripe_subscription_id:  # Stripe would go on billing its plan beside Enterprise
            raise Conflict("Stripe bills this org's subscription: cancel it in Stripe first (the org then moves to "
                           "Free), then assign Enterprise.", code="billed_by_stripe")
        unknown = set(quotas) - set(Meter.objects.values_list("code", flat=True))
        if unknown:
            raise InvalidInput(f"Unknown meters: {', '.join(sorted(unknown))}.", fields={"quotas": ["Unknown meter."]})
        if any(quota is not None and not 0 <= quota <= MAX_LIMIT for quota in quotas.values()):
            raise InvalidInput(f"A quota is 0 to {MAX_LIMIT:,}, or unlimited.", fields={"quotas": ["Out of range."]})
        at = _check_quote_time(subscription, proration_at)
        lines, period, pending = _enterprise_lines(subscription, interval, base_price, seat_price, at)
        for code, quota in quotas.items():
            QuotaOverride.objects.update_or_create(org=org, meter=Meter.objects.get(code=code),
                                                   defaults={"monthly_quota": quota})
        before = {"plan": subscription.plan.code, "interval": subscription.interval}
        subscription.custom_base_price, subscription.custom_seat_price = base_price.amount, seat_price.amount
        subscription.plan, subscription.interval = enterprise, interval
        quote = ChangeQuote(enterprise, interval, at, tuple(lines), period, new_cycle=True)
        invoice = None
        if any(line.amount.amount for line in lines):
            invoice = invoice_issue(org=org, kind=InvoiceKind.UPGRADE, currency=subscription.currency, lines=lines,
                                    period=period, actor=actor, subscription=subscription)
            if expected_amount is not None and invoice.amount_due != expected_amount:
                raise _price_changed()
            seats_mark_settled(pending, invoice)
        elif expected_amount is not None and expected_amount.amount:
            raise _price_changed()
        _apply(subscription, quote, actor)
        audit_record(org=org, actor=actor, action="subscription.enterprise_assigned", target=subscription,
                     before=before, after={"base_price": base_price.amount, "seat_price": seat_price.amount,
                                           "quotas": quotas, "interval": interval})
    if invoice is not None:
        invoice_collect(invoice=invoice, actor=actor)
        subscription_sync_payment_state(org=org, actor=actor)
    return invoice


