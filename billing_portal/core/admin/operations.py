"""Staff operations: a form about one object, then one service call. Offered as buttons on the object's page
and as admin actions on its list (which open the same form for the one row selected).

Each operation names the permission it needs: staff without it see neither button nor action, and its page
answers 403. The form checks what staff typed; the service decides the rest, and its refusals come back on the
form, never as a server error. A form may show a preview first (what a plan change costs): confirming posts
the previewed values back, and the service refuses if they no longer hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.cache import add_never_cache_headers

from billing_portal.audit.services import Actor
from billing_portal.core.errors import BillingError
from billing_portal.core.money import MAX_AMOUNT, Money


@dataclass(frozen=True)
class Preview:
    """What the operation will do, to confirm; `data` goes back with the confirmation (as hidden fields)."""

    template: str
    context: dict[str, Any]
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Shown:
    """An outcome shown once on the answer itself and never stored (not even in messages): a new secret."""

    template: str
    context: dict[str, Any]


class OperationForm(forms.Form):
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, obj: Any, user: Any, **kwargs: Any) -> None:
        self.obj, self.user = obj, user
        super().__init__(*args, **kwargs)

    def summary(self) -> list[tuple[str, Any]]:
        """Facts about the object shown above the form."""
        return []

    def preview(self) -> Preview | None:
        """What to confirm before `run`; None runs straight away."""
        return None

    def run(self, actor: Actor) -> str | Shown:
        """The one service call; returns what to tell staff afterwards (or a page to show it on, once)."""
        raise NotImplementedError


def money_input(value: str, currency: str, *, allow_zero: bool = False) -> Money:
    """Staff-typed major units ("1,250.50") as Money in `currency`; a form error when it is not an amount."""
    try:
        money = Money.from_major(value.strip().replace(",", ""), currency)
    except (ValueError, ArithmeticError):
        raise forms.ValidationError(f"Enter an amount in {currency}, e.g. 12.50.") from None
    if money.amount < 0 or (money.amount == 0 and not allow_zero):
        raise forms.ValidationError(f"Enter an amount above zero in {currency}.")
    if money.amount > MAX_AMOUNT:
        raise forms.ValidationError(f"Enter at most {Money(MAX_AMOUNT, currency).format()}.")
    return money


@dataclass(frozen=True)
class Operation:
    name: str
    label: str
    permission: str  # "app_label.codename"
    form: type[OperationForm]
    applies: Callable[[Any], bool] = lambda obj: True  # whether the button shows for this object


class OperationsAdmin(admin.ModelAdmin):
    operations: tuple[Operation, ...] = ()
    change_form_template = "admin/operations_change_form.html"

    def allowed_operations(self, request: HttpRequest, obj: Model | None = None) -> list[Operation]:
        return [
            op
            for op in self.operations
            if request.user.has_perm(op.permission) and (obj is None or op.applies(obj))
        ]

    def operation_url(self, op: Operation, obj: Model) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_operation", args=[quote(obj.pk), op.name]
        )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.operation_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_operation"
        return [path("<path:object_id>/do/<slug:name>/", view, name=name), *super().get_urls()]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        for op in self.allowed_operations(request):
            actions[op.name] = (self._action(op), op.name, f"{op.label}…")
        return actions

    def _action(self, op: Operation) -> Callable[[Any, HttpRequest, QuerySet[Any]], HttpResponse | None]:
        def start(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
            chosen = list(queryset[:2])
            if len(chosen) != 1:
                self.message_user(
                    request,
                    f"“{op.label}” works on one {self.opts.verbose_name} at a time.",
                    messages.WARNING,
                )
                return None
            return HttpResponseRedirect(self.operation_url(op, chosen[0]))

        return start

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Model | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["operations"] = [
                (op.label, self.operation_url(op, obj)) for op in self.allowed_operations(request, obj)
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def operation_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        op = next((op for op in self.operations if op.name == name), None)
        if op is None:
            raise Http404(f"No operation {name!r}.")
        if not request.user.has_perm(op.permission):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} {object_id}.")
        change_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[quote(obj.pk)]
        )
        form = op.form(request.POST if request.method == "POST" else None, obj=obj, user=request.user)
        preview = None
        if form.is_bound and form.is_valid():
            try:
                preview = None if form.cleaned_data["confirmed"] else form.preview()
                if preview is None:
                    outcome = form.run(Actor.for_user(request.user))
                    if isinstance(outcome, Shown):
                        response = TemplateResponse(request, outcome.template, {
                            **self.admin_site.each_context(request), "opts": self.opts, "original": obj,
                            "change_url": change_url, "title": op.label, **outcome.context})
                        add_never_cache_headers(response)
                        return response
                    self.message_user(request, outcome, messages.SUCCESS)
                    return HttpResponseRedirect(change_url)
            except BillingError as error:
                error.show_on(form)
                preview = None
        confirm = {
            **{key: form.data[key] for key in form.fields if key in form.data},
            **(preview.data if preview else {}),
            "confirmed": "1",
        }
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts, "original": obj, "operation": op, "form": form, "preview": preview,
            "confirm": confirm, "summary": form.summary(), "change_url": change_url,
            "title": f"{op.label}: {obj}",
        }  # fmt: skip
        return TemplateResponse(request, "admin/operation.html", context)
