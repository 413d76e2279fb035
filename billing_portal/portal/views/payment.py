"""Payment: the card or bank on file, updating it, charge history, and billing details for later invoices."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.services import org_update_billing_details
from billing_portal.core.errors import BillingError
from billing_portal.payments.models import Charge
from billing_portal.payments.providers import get_provider
from billing_portal.payments.providers.base import PaymentMethodSetupRequest
from billing_portal.payments.services import payment_method_add_test_card, payment_method_default
from billing_portal.portal.context import BILLING, MANAGERS, PortalContext, org_view
from billing_portal.portal.forms import BillingDetailsForm, TestCardForm
from billing_portal.portal.pages import render_page
from billing_portal.subscriptions.services.dunning import subscription_payment_method_added

CHARGES_SHOWN = 25


@org_view(BILLING, writes=MANAGERS)
def payment(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    org = ctx.org
    details = BillingDetailsForm(request.POST or None, initial={
        "billing_email": org.billing_email, "tax_id": org.tax_id, "billing_address": org.billing_address,
        "country": org.country,
    })
    if request.method == "POST" and details.is_valid():
        try:
            org_update_billing_details(org=org, by=ctx.membership, **details.cleaned_data)
        except BillingError as error:
            error.show_on(details)
        else:
            messages.success(request, "Billing details saved; they appear on every invoice from now on.")
            return redirect("portal:payment")
    charges = Charge.objects.filter(org=org).select_related("invoice", "payment_method")[:CHARGES_SHOWN]
    return render_page(
        request, ctx, "portal/payment.html", "payment",
        method=payment_method_default(org), charges=charges, details=details, card_form=TestCardForm(),
        local_provider=not get_provider().bills_subscriptions,
        status=400 if request.method == "POST" else 200,
    )


@org_view(BILLING, writes=MANAGERS)
@require_POST
def update_method(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """Local provider: pick a test card. Stripe: off to Checkout (setup mode) or the Billing Portal."""
    provider = get_provider()
    if provider.bills_subscriptions:
        redirect_to = provider.payment_method_setup(PaymentMethodSetupRequest(
            org_id=ctx.org.pk, customer_email=ctx.org.billing_email,
            return_url=f"{settings.PORTAL_BASE_URL}/billing/payment/"))
        return HttpResponseRedirect(redirect_to.url)
    form = TestCardForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the test cards.")
        return redirect("portal:payment")
    method = payment_method_add_test_card(org=ctx.org, card=form.cleaned_data["card"], actor=ctx.actor)
    subscription_payment_method_added(org=ctx.org, actor=ctx.actor)
    messages.success(request, f"{method} is now your payment method.")
    return redirect("portal:payment")
