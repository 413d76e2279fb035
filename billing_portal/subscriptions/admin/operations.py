"""Subscription operations staff run on an org: trials, plan changes, cancelling, Enterprise, test clocks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone

from accounts.models import Organization
from billing_portal.audit.services import Actor
from billing_portal.catalog.models import Interval, Meter, Plan, QuotaOverride
from billing_portal.core.admin import Operation, OperationForm, Preview, money_input
from billing_portal.core.errors import Conflict
from billing_portal.core.money import Money
from billing_portal.core.numbers import whole_number
from billing_portal.subscriptions.models import Status
from billing_portal.subscriptions.selectors import status_label
from billing_portal.subscriptions.services.changes import (
    ChangePreview,
    subscription_assign_enterprise,
    subscription_cancel,
    subscription_change_plan,
    subscription_preview_change,
    subscription_preview_enterprise,
    subscription_undo_scheduled_change,
)
from billing_portal.subscriptions.services.clocks import org_clock_advance
from billing_portal.subscriptions.services.trials import MAX_TRIAL_EXTENSION_DAYS, subscription_extend_trial
from metering.services.rules import MAX_LIMIT

REASON = {"max_length": 300, "widget": forms.Textarea(attrs={"rows": 2, "cols": 60})}


def _when(value: datetime | None) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M %Z}" if value else "—"


def _moment(value: str) -> datetime | None:
    """A hidden ISO timestamp the form carried from what staff saw."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:  # the form always carries an aware one
        raise forms.ValidationError("Reload the page and try again.")
    return moment


class SubscriptionForm(OperationForm):
    obj: Organization

    def summary(self) -> list[tuple[str, Any]]:
        sub = self.obj.subscription
        facts = [
            ("Plan", f"{sub.plan.name} ({sub.interval}ly), {status_label(sub)}"),
            ("Current period", f"{_when(sub.current_period_start)} to {_when(sub.current_period_end)}"),
        ]
        if sub.trial_end:
            facts.append(("Trial ends", _when(sub.trial_end)))
        if sub.has_scheduled_change:
            change = (
                "cancel (to Free)"
                if sub.cancel_at_period_end
                else f"{sub.scheduled_plan} ({sub.scheduled_interval}ly)"
            )
            facts.append(("Scheduled at period end", change))
        return facts


class ExtendTrialForm(SubscriptionForm):
    days = forms.IntegerField(min_value=1, max_value=MAX_TRIAL_EXTENSION_DAYS, initial=7)
    reason = forms.CharField(**REASON)
    trial_end = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        trial_end = self.obj.subscription.trial_end
        self.fields["trial_end"].initial = trial_end.isoformat() if trial_end else ""

    def clean_trial_end(self) -> datetime | None:
        return _moment(self.cleaned_data["trial_end"])

    def run(self, actor: Actor) -> str:
        data = self.cleaned_data
        subscription = subscription_extend_trial(
            org=self.obj,
            days=data["days"],
            actor=actor,
            reason=data["reason"],
            expected_trial_end=data["trial_end"],
        )
        return f"The trial of {self.obj} now ends {_when(subscription.trial_end)}."


class QuotedForm(SubscriptionForm):
    """A change that moves money: previewed first, then confirmed with the quote's time and amount, which the
    service checks again."""

    proration_at = forms.CharField(required=False, widget=forms.HiddenInput)
    expected_amount = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean_proration_at(self) -> datetime | None:
        return _moment(self.cleaned_data["proration_at"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("confirmed") and (not data.get("proration_at") or data.get("expected_amount") is None):
            raise forms.ValidationError("Review the price before confirming.")
        return data

    def quoted(self, preview: ChangePreview) -> Preview:
        return Preview(
            "admin/subscriptions/plan_change_preview.html",
            {"change": preview},
            {
                "proration_at": preview.proration_at.isoformat(),
                "expected_amount": str(preview.amount_due.amount),
            },
        )

    def quoted_amount(self) -> Money:
        return Money(self.cleaned_data["expected_amount"], self.obj.subscription.currency)


class ChangePlanForm(QuotedForm):
    plan = forms.ModelChoiceField(Plan.objects.filter(is_contact_sales=False).order_by("display_order"))
    interval = forms.ChoiceField(choices=Interval.choices)

    def preview(self) -> Preview:
        return self.quoted(subscription_preview_change(
            org=self.obj, plan=self.cleaned_data["plan"], interval=self.cleaned_data["interval"]
        ))

    def run(self, actor: Actor) -> str:
        data = self.cleaned_data
        outcome = subscription_change_plan(
            org=self.obj,
            plan=data["plan"],
            interval=data["interval"],
            by=None,
            actor=actor,
            proration_at=data["proration_at"],
            expected_amount=self.quoted_amount(),
        )
        target = f"{data['plan'].name} ({data['interval']}ly)"
        if outcome.error:
            raise Conflict(f"Nothing changed: {outcome.error}", code="payment_failed")
        if outcome.redirect_url:
            return f"{target} needs the owner to pay through Stripe Checkout first: {outcome.redirect_url}"
        if outcome.scheduled_for:
            return f"{self.obj} moves to {target} at the period end, {_when(outcome.scheduled_for)}."
        if not outcome.applied:
            return f"Stripe is moving {self.obj} to {target}; the portal follows when Stripe confirms."
        charged = (
            f", invoice {outcome.invoice} for {outcome.invoice.money('total').format()}"
            if outcome.invoice
            else ""
        )
        return f"{self.obj} is now on {target}{charged}."


class CancelForm(SubscriptionForm):
    reason = forms.CharField(**REASON)

    def run(self, actor: Actor) -> str:
        outcome = subscription_cancel(org=self.obj, by=None, actor=actor, reason=self.cleaned_data["reason"])
        if outcome.applied:
            return f"{self.obj} is on the Free plan now."
        return f"{self.obj} moves to Free at the period end, {_when(outcome.scheduled_for)}."


class ResumeForm(SubscriptionForm):
    def run(self, actor: Actor) -> str:
        subscription_undo_scheduled_change(org=self.obj, by=None, actor=actor)
        return f"{self.obj} keeps its plan: the scheduled change was dropped."


class AssignEnterpriseForm(QuotedForm):
    """Negotiated prices per interval, and a monthly quota per meter (blank keeps Enterprise's own)."""

    interval = forms.ChoiceField(choices=Interval.choices)
    base_price = forms.CharField(help_text="Per interval, in the org's currency, e.g. 2500.00.")
    seat_price = forms.CharField(help_text="Per seat and interval, e.g. 40.00.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        overrides = {o.meter_id: o.monthly_quota for o in QuotaOverride.objects.filter(org=self.obj)}
        for meter in Meter.objects.order_by("display_order"):
            initial = overrides.get(meter.pk, "")
            self.fields[f"quota_{meter.code}"] = forms.CharField(
                required=False,
                label=f"{meter.name} per month",
                initial="unlimited" if initial is None else initial,
                help_text=f"In {meter.unit}s: a number or “unlimited”; blank keeps Enterprise's own quota.",
            )

    def _price(self, name: str) -> Money:
        return money_input(self.cleaned_data[name], self.obj.subscription.currency, allow_zero=True)

    def clean_base_price(self) -> Money:
        return self._price("base_price")

    def clean_seat_price(self) -> Money:
        return self._price("seat_price")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        quotas: dict[str, int | None] = {}
        for name in [name for name in self.fields if name.startswith("quota_")]:
            text = str(data.get(name, "")).strip().replace(",", "")
            if text.lower() == "unlimited":
                quotas[name.removeprefix("quota_")] = None
            elif whole_number(text, at_most=MAX_LIMIT) is not None:
                quotas[name.removeprefix("quota_")] = int(text)
            elif text:
                self.add_error(name, f"A whole number up to {MAX_LIMIT:,}, or “unlimited”.")
        data["quotas"] = quotas
        return data

    def preview(self) -> Preview:
        data = self.cleaned_data
        return self.quoted(subscription_preview_enterprise(
            org=self.obj, interval=data["interval"], base_price=data["base_price"], seat_price=data["seat_price"]
        ))

    def run(self, actor: Actor) -> str:
        data = self.cleaned_data
        invoice = subscription_assign_enterprise(
            org=self.obj,
            interval=data["interval"],
            base_price=data["base_price"],
            seat_price=data["seat_price"],
            quotas=data["quotas"],
            actor=actor,
            proration_at=data["proration_at"],
            expected_amount=self.quoted_amount(),
        )
        billed = f"; invoice {invoice} for {invoice.money('total').format()}" if invoice else ""
        return f"{self.obj} is on Enterprise ({data['interval']}ly){billed}."


class AdvanceClockForm(OperationForm):
    obj: Organization
    to = forms.DateTimeField(help_text="UTC, e.g. 2026-05-01 09:00. Jobs that fall due by then run now.")

    def summary(self) -> list[tuple[str, Any]]:
        clock = self.obj.test_clock
        return [("Test clock", f"{clock.name}: {_when(clock.frozen_time)}" if clock else "none")]

    def run(self, actor: Actor) -> str:
        executions = org_clock_advance(org=self.obj, to=self.cleaned_data["to"], actor=actor)
        work = ", ".join(f"{run.job} ({run.outcome})" for run in executions if run.processed or run.failed)
        return f"{self.obj}'s clock is at {_when(self.cleaned_data['to'])}; jobs run: {work or 'none due'}."


def _sub(org: Organization) -> Any:
    return org.subscription


EXTEND_TRIAL = Operation(
    "extend-trial",
    "Extend trial",
    "subscriptions.extend_trial",
    ExtendTrialForm,
    applies=lambda org: _sub(org).status in (Status.TRIALING, Status.PAUSED),
)
CHANGE_PLAN = Operation(
    "change-plan",
    "Change plan or interval",
    "subscriptions.change_plan",
    ChangePlanForm,
    applies=lambda org: _sub(org).status != Status.CANCELED,
)
CANCEL = Operation(
    "cancel",
    "Cancel (to Free)",
    "subscriptions.change_plan",
    CancelForm,
    applies=lambda org: _sub(org).status != Status.CANCELED and not _sub(org).cancel_at_period_end,
)
RESUME = Operation(
    "resume",
    "Resume (drop scheduled change)",
    "subscriptions.change_plan",
    ResumeForm,
    applies=lambda org: _sub(org).has_scheduled_change,
)
ASSIGN_ENTERPRISE = Operation(
    "assign-enterprise",
    "Assign Enterprise",
    "subscriptions.assign_enterprise",
    AssignEnterpriseForm,
    applies=lambda org: _sub(org).status != Status.CANCELED,
)
ADVANCE_CLOCK = Operation(
    "advance-clock",
    "Advance test clock",
    "subscriptions.advance_test_clock",
    AdvanceClockForm,
    applies=lambda org: org.test_clock_id is not None,
)
OPERATIONS = (EXTEND_TRIAL, CHANGE_PLAN, CANCEL, RESUME, ASSIGN_ENTERPRISE, ADVANCE_CLOCK)
