"""Credits: the balance split into allotment and top-ups, the ledger, buying top-ups, the low-balance alert."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.models import Membership
from accounts.services import org_set_credit_alert_threshold
from billing_portal.core.errors import BillingError
from billing_portal.core.money import Money
from billing_portal.portal.context import BILLING, MANAGERS, OWNER, PortalContext, org_view
from billing_portal.portal.forms import CreditAlertForm, TopupForm
from billing_portal.portal.pages import page_number, render_page
from invoices.services import invoice_tax
from metering.models import TopupPack
from metering.selectors import credit_balance, credit_ledger
from metering.services import credits_topup_purchase


def _pool_member(ctx: PortalContext) -> Membership | None:
    """On per-member plans each member has a pool: the page shows the viewer's own."""
    return None if ctx.org.subscription.plan.pooled_credits else ctx.membership


@org_view(BILLING)
def credits(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    currency = ctx.org.subscription.currency
    prices = [
        (pack, Money(price.amount, currency))
        for pack in TopupPack.objects.filter(is_active=True).prefetch_related("prices")
        for price in pack.prices.all() if price.currency == currency
    ]
    # Each offer names what the card is charged: the pack's price plus the tax its invoice will add.
    taxes = [(pack, price, invoice_tax(country=ctx.org.country, subtotal=price)) for pack, price in prices]
    packs = [(pack, price + tax.amount, tax) for pack, price, tax in taxes]
    page = credit_ledger(org=ctx.org, member=_pool_member(ctx), page=page_number(request))
    return render_page(
        request, ctx, "portal/credits.html", "credits",
        balance=credit_balance(org=ctx.org, member=_pool_member(ctx)), page=page, packs=packs,
        topup_form=TopupForm(packs=[pack for pack, _, _ in packs]),
        alert_form=CreditAlertForm(initial={"threshold_pct": ctx.org.credit_alert_threshold_pct}),
        per_member=_pool_member(ctx) is not None,
    )


@org_view(BILLING, writes=OWNER)
def buy_topup(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    if request.method != "POST":
        return redirect("portal:credits")
    form = TopupForm(request.POST, packs=list(TopupPack.objects.filter(is_active=True)))
    if not form.is_valid():
        problem = "Choose one of the top-up packs." if "pack" in form.errors else "Reload the page and try again."
        messages.error(request, problem)
        return redirect("portal:credits")
    pack = form.cleaned_data["pack"]
    try:
        invoice = credits_topup_purchase(
            org=ctx.org, pack=pack, by=ctx.membership, actor=ctx.actor, request_key=form.cleaned_data["request_key"]
        )
    except BillingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{pack.credits:,} credits added; invoice {invoice.number} is paid.")
    return redirect("portal:credits")


@org_view(BILLING, writes=MANAGERS)
def alert_threshold(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    if request.method != "POST":
        return redirect("portal:credits")
    form = CreditAlertForm(request.POST)
    if form.is_valid():
        try:
            org_set_credit_alert_threshold(org=ctx.org, pct=form.cleaned_data["threshold_pct"], by=ctx.membership)
        except BillingError as error:
            messages.error(request, error.message)
        else:
            threshold = form.cleaned_data["threshold_pct"]
            messages.success(request, f"Owners are emailed when credits fall below {threshold}%.")
    else:
        messages.error(request, "; ".join(form.errors.get("threshold_pct", ["Enter a whole percentage."])))
    return redirect("portal:credits")
