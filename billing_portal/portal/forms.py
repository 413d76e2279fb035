from __future__ import annotations

import zoneinfo

from django import forms
from django.contrib.auth.password_validation import validate_password

from billing_portal.core.money import CURRENCY_CHOICES

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


class SignUpForm(forms.Form):
    full_name = forms.CharField(max_length=150, label="Your name")
    email = forms.EmailField()
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
