"""Plans: the catalog side by side, previewing and confirming a change, cancelling and undoing."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from billing_portal.catalog.models import Interval, Plan
from billing_portal.catalog.selectors import entitlements_for, public_plans
from billing_portal.core.errors import BillingError
from billing_portal.core.money import Money
from billing_portal.portal.context import BILLING, OWNER, PortalContext, org_view
from billing_portal.portal.forms import PlanChoiceForm
from billing_portal.portal.pages import redirect_to_next, render_page
from billing_portal.subscriptions.models import Subscription
from billing_portal.subscriptions.services.changes import (
    subscription_cancel,
    subscription_change_plan,
    subscription_preview_change,
    subscription_undo_scheduled_change,
)
from billing_portal.subscriptions.services.proration import applies_now, is_current_plan

QUOTE_SALT = "portal.plan-quote"


@org_view(BILLING)
def plans(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    subscription = ctx.org.subscription
    default_interval = subscription.interval if subscription.interval in Interval.values else "month"
    interval = request.GET.get("interval", default_interval)
    cards = []
    for plan in public_plans():
        price = plan.price_for(subscription.currency)
        if price is None:
            continue
        current = plan.pk == subscription.plan_id
        cards.append({
            "plan": plan,
            "price": price,
            "entitlements": entitlements_for(plan=plan),
            "current": current,
            "current_interval": subscription.interval if current else "",
            "saving": price.yearly_saving(seats=max(subscription.seat_quantity, 1)),
            "action": {interval_: _action(subscription, plan, interval_) for interval_ in Interval.values},
        })
    return render_page(request, ctx, "portal/plans.html", "plans", cards=cards, interval=interval,
                       subscription=subscription)


def _action(subscription: Subscription, plan: Plan, interval: str) -> str:
    if plan.is_contact_sales:
        return "contact"
    if is_current_plan(subscription, plan, interval):
        return "current"
    return "upgrade" if applies_now(subscription, plan, interval) else "downgrade"


@org_view(BILLING, writes=OWNER)
def plan_change(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """GET shows the exact preview; POST confirms it with the quote's own instant and amount."""
    form = PlanChoiceForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        messages.error(request, "Choose a plan and a billing interval.")
        return redirect("portal:plans")
    plan, interval = form.cleaned_data["plan"], form.cleaned_data["interval"]
    if request.method == "POST":
        return _confirm(request, ctx, plan, interval)
    try:
        preview = subscription_preview_change(org=ctx.org, plan=plan, interval=interval, by=ctx.membership)
    except BillingError as error:
        messages.error(request, error.message)
        return redirect("portal:plans")
    quote = signing.dumps({"at": preview.proration_at.isoformat(), "amount": preview.amount_due.amount},
                          salt=QUOTE_SALT)
    return render_page(request, ctx, "portal/plan_change.html", "plans", preview=preview, quote=quote,
                       subscription=ctx.org.subscription)


def _confirm(request: HttpRequest, ctx: PortalContext, plan: Plan, interval: str) -> HttpResponse:
    try:
        quote = signing.loads(request.POST.get("quote", ""), salt=QUOTE_SALT, max_age=3600)
        proration_at = datetime.fromisoformat(quote["at"])
        expected = Money(int(quote["amount"]), ctx.org.subscription.currency)
    except (signing.BadSignature, KeyError, ValueError, TypeError):
        messages.error(request, "That confirmation is not valid any more; review the change again.")
        return redirect(f"{request.path}?plan={plan.code}&interval={interval}")
    try:
        outcome = subscription_change_plan(org=ctx.org, plan=plan, interval=interval, by=ctx.membership,
                                           actor=ctx.actor, proration_at=proration_at,
                                           expected_amount=expected)
    except BillingError as error:
        messages.error(request, error.message)
        return redirect(f"{request.path}?plan={plan.code}&interval={interval}")
    if outcome.redirect_url:
        return HttpResponseRedirect(outcome.redirect_url)
    if outcome.error:
        messages.error(request, f"The payment did not go through: {outcome.error} Nothing changed.")
        return redirect("portal:payment")
    if outcome.scheduled_for:
        messages.success(request, f"Scheduled: {plan.name} starts on {outcome.scheduled_for:%b %-d, %Y}.")
    elif outcome.applied:
        charged = f" and charged {outcome.invoice.money('total')}" if outcome.invoice else ""
        messages.success(request, f"You are now on {plan.name}{charged}.")
    else:
        messages.info(request, "Your change was sent to the payment provider; it shows here once confirmed.")
    return redirect("portal:overview")


@org_view(BILLING, writes=OWNER)
@require_POST
def cancel(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    try:
        outcome = subscription_cancel(org=ctx.org, by=ctx.membership, actor=ctx.actor,
                                      reason=request.POST.get("reason", "")[:500].replace("\x00", ""))
    except BillingError as error:
        messages.error(request, error.message)
    else:
        when = f"on {outcome.scheduled_for:%b %-d, %Y}" if outcome.scheduled_for else "now"
        messages.success(request, f"Canceled. You move to the Free plan {when}; your data is kept.")
    return redirect("portal:plans")


@org_view(BILLING, writes=OWNER)
@require_POST
def undo_change(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    try:
        subscription_undo_scheduled_change(org=ctx.org, by=ctx.membership, actor=ctx.actor)
    except BillingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Done: you stay on {ctx.org.subscription.plan.name}.")
    return redirect_to_next(request, "portal:plans")
