"""Sign-up, invitation acceptance and the org switcher."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import services
from accounts.selectors import orgs_of
from billing_portal.audit.services import Actor
from billing_portal.core.errors import BillingError
from billing_portal.core.numbers import whole_number
from billing_portal.portal.context import SESSION_KEY
from billing_portal.portal.forms import SignUpForm
from billing_portal.portal.pages import redirect_to_next


def sign_up(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                user = services.user_create(email=data["email"], password=data["password"], full_name=data["full_name"])
                org = services.org_sign_up(
                    name=data["org_name"], owner=user, actor=Actor.for_user(user),
                    timezone=data["timezone"], currency=data["currency"],
                )
        except BillingError as error:
            error.show_on(form)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session[SESSION_KEY] = org.pk
            messages.success(request, f"Welcome! {org.name} is on the {org.subscription.plan.name} plan.")
            return redirect("portal:overview")
    return render(request, "registration/sign_up.html", {"form": form})


def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    if request.user.is_authenticated and request.method == "POST":
        try:
            membership = services.invitation_accept(token=token, user=request.user)  # type: ignore[arg-type]
        except BillingError as error:
            messages.error(request, error.message)
        else:
            request.session[SESSION_KEY] = membership.org_id
            messages.success(request, f"You joined {membership.org.name}.")
            return redirect("portal:overview")
    return render(request, "registration/invitation.html", {"invitation": services.invitation_open(token),
                                                            "token": token})


@login_required
@require_POST
def switch_org(request: HttpRequest) -> HttpResponse:
    pk = whole_number(request.POST.get("org", ""))
    org = orgs_of(request.user).filter(pk=pk).first() if pk is not None else None  # type: ignore[arg-type]
    if org is not None:
        request.session[SESSION_KEY] = org.pk
    return redirect_to_next(request, "portal:overview")


@login_required
def no_org(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/no_org.html", status=200)
