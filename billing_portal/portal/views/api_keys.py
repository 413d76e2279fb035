"""API keys: OWNERs and ADMINs list, create (the secret shows once, on the page) and revoke the org's keys."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing_portal.api.keys import api_key_create, api_key_revoke
from billing_portal.api.models import ApiKey, KeyKind, Scope
from billing_portal.core.errors import BillingError
from billing_portal.portal.context import KEY_ADMINS, PortalContext, org_view
from billing_portal.portal.pages import render_page

PAGE_SIZE = 50


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. 'Production backend'.")
    kind = forms.ChoiceField(
        choices=KeyKind.choices,
        initial=KeyKind.LIVE,
        widget=forms.RadioSelect,
        help_text="Test keys log usage but never count it.",
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, initial=[Scope.USAGE], widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, ctx: PortalContext, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not ctx.can_change_billing:  # only the OWNER grants billing:write
            self.fields["scopes"].choices = [c for c in Scope.choices if c[0] != Scope.BILLING_WRITE]
            self.fields["scopes"].help_text = "Only the owner can grant billing:write."


NEW_KEY_SESSION_KEY = "new_api_key"


def _page(
    request: HttpRequest,
    ctx: PortalContext,
    form: ApiKeyForm,
    *,
    status: int = 200,
) -> HttpResponse:
    keys = ApiKey.objects.filter(org=ctx.org).order_by("-created_at", "-id")
    # The key just created, whose secret is shown on this one page and never again.
    created_id, secret = request.session.pop(NEW_KEY_SESSION_KEY, (None, ""))
    created = keys.filter(pk=created_id).first() if created_id else None
    return render_page(
        request,
        ctx,
        "portal/api_keys.html",
        "api-keys",
        status=status,
        form=form,
        page=Paginator(keys, PAGE_SIZE).get_page(request.GET.get("page")),
        created=created,
        secret=secret if created else "",
    )


@never_cache
@org_view(KEY_ADMINS)
def api_keys(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """GET lists the keys; POST creates one and redirects to the list, which shows its secret once (a reload of
    that page sends nothing again)."""
    if request.method != "POST":
        return _page(request, ctx, ApiKeyForm(ctx=ctx))
    form = ApiKeyForm(request.POST, ctx=ctx)
    if not form.is_valid():
        return _page(request, ctx, form, status=400)
    try:
        key, secret = api_key_create(
            org=ctx.org,
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            scopes=form.cleaned_data["scopes"],
            actor=ctx.actor,
            may_grant_billing_write=ctx.can_change_billing,
        )
    except BillingError as error:
        error.show_on(form)
        return _page(request, ctx, form, status=400)
    request.session[NEW_KEY_SESSION_KEY] = (key.pk, secret)
    return redirect("portal:api-keys")


@org_view(KEY_ADMINS)
@require_POST
def revoke(request: HttpRequest, ctx: PortalContext, key_id: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=key_id, org=ctx.org)
    api_key_revoke(key=key, actor=ctx.actor)
    messages.success(request, f"Key {key.prefix}… ({key.name}) is revoked; calls with it now get a 401.")
    return redirect("portal:api-keys")
