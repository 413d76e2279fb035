from __future__ import annotations

import uuid
import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password

from accounts.models import Membership, Role, Space
from accounts.services import EMAIL_LENGTH
from billing_portal.catalog.models import Interval, Meter, Plan
from billing_portal.catalog.selectors import entitlements_for
from billing_portal.core.money import CURRENCY_CHOICES
from billing_portal.payments.models import TestCard
from metering.models import TopupPack
from metering.services.rules import MAX_LIMIT

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


class SignUpForm(forms.Form):
    full_name = forms.CharField(max_length=150, label="Your name")
    email = forms.EmailField(max_length=EMAIL_LENGTH)  # Django's form field alone allows 320
    password = forms.CharField(widget=forms.PasswordInput, strip=False)
    org_name = forms.CharField(max_length=200, label="Organization name")
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES, initial="UTC")
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, initial="USD")

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if cleaned.get("password"):
            try:
                validate_password(cleaned["password"])
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class PlanChoiceForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.all(), to_field_name="code")
    interval = forms.ChoiceField(choices=Interval.choices)


class TestCardForm(forms.Form):
    __test__ = False

    card = forms.ChoiceField(choices=TestCard.choices, widget=forms.RadioSelect, label="Test card")


class BillingDetailsForm(forms.Form):
    billing_email = forms.EmailField(help_text="Invoices and receipts go here.")
    tax_id = forms.CharField(label="Tax ID", max_length=64, required=False,
                             help_text="Printed on invoices, e.g. a VAT number.")
    billing_address = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=1000)
    country = forms.CharField(max_length=2, min_length=2, help_text="Two-letter code, e.g. US, DE, JP.")

    def clean_country(self) -> str:
        value = self.cleaned_data["country"].strip().upper()
        if not value.isalpha():
            raise forms.ValidationError("Use a two-letter country code.")
        return value


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=EMAIL_LENGTH)
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in Role if r != Role.OWNER], initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in Role if r != Role.OWNER])


class TopupForm(forms.Form):
    pack = forms.ChoiceField(widget=forms.RadioSelect)
    # New on each page: submitting the same page twice buys once.
    request_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args: Any, packs: list[TopupPack], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.packs = {pack.code: pack for pack in packs}
        self.fields["pack"].choices = [(pack.code, pack.name) for pack in packs]

    def clean_pack(self) -> TopupPack:
        return self.packs[self.cleaned_data["pack"]]


class CreditAlertForm(forms.Form):
    threshold_pct = forms.IntegerField(min_value=1, max_value=100, label="Alert below (%)")


class CapForm(forms.Form):
    """A monthly cap on one member (by email) or one space; an empty limit removes the cap.
    Only this org's members and spaces resolve, so another org's people can never be targeted."""

    member_email = forms.EmailField(required=False, label="Member email")
    space = forms.ChoiceField(required=False)
    meter = forms.ChoiceField()
    limit = forms.IntegerField(
        min_value=0, max_value=MAX_LIMIT, required=False, help_text="Per month; leave empty to remove the cap."
    )

    def __init__(self, *args: Any, ctx: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.org = ctx.org
        spaces = Space.objects.filter(org=self.org).values_list("slug", "name")
        self.fields["space"].choices = [("", "—")] + list(spaces)
        meters = [(m.code, m.name) for m in Meter.objects.all()]
        if "custom_limits" in entitlements_for(plan=self.org.subscription.plan, org=self.org).features:
            meters.append(("credits", "Credits (per-user limit)"))
        self.fields["meter"].choices = meters

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        email, slug = cleaned.get("member_email"), cleaned.get("space")
        if bool(email) == bool(slug):
            raise forms.ValidationError("Give either a member's email or a space.")
        cleaned["member"] = (
            Membership.objects.active().filter(org=self.org, user__email__iexact=email).first() if email else None
        )
        cleaned["space"] = Space.objects.filter(org=self.org, slug=slug).first() if slug else None
        if email and cleaned["member"] is None:
            self.add_error("member_email", "No active member of this organization has this email.")
        return cleaned
