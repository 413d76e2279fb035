from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from billing_portal.api.keys import api_key_create, api_key_revoke
from billing_portal.api.models import ApiKey, KeyKind, Scope
from billing_portal.audit.services import Actor
from billing_portal.core.admin import AppendOnlyAdmin, Operation, OperationForm, OperationsAdmin, Shown


class IssueKeyForm(OperationForm):
    """For an org (the object): staff issue a key, as its owner could; the secret is shown once."""

    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=KeyKind.choices)
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)

    def summary(self) -> list[tuple[str, Any]]:
        return [("Organization", f"{self.obj} ({self.obj.slug})")]

    def run(self, actor: Actor) -> Shown:
        key, secret = api_key_create(org=self.obj, name=self.cleaned_data["name"], kind=self.cleaned_data["kind"],
                                     scopes=self.cleaned_data["scopes"], actor=actor, may_grant_billing_write=True)
        return Shown("admin/api/apikey/issued.html", {"key": key, "secret": secret})


class RevokeKeyForm(OperationForm):
    def summary(self) -> list[tuple[str, Any]]:
        key = self.obj
        return [("Key", f"{key.prefix}… “{key.name}” of {key.org}"), ("Last used", key.last_used_at or "never")]

    def clean(self) -> dict[str, Any]:
        if self.obj.revoked_at is not None:
            raise forms.ValidationError("This key is already revoked.")
        return super().clean() or {}

    def run(self, actor: Actor) -> str:
        api_key_revoke(key=self.obj, actor=actor)
        return f"Key {self.obj.prefix}… is revoked; calls with it now answer 401."


ISSUE_KEY = Operation("issue-api-key", "Issue API key", "api.issue_api_key", IssueKeyForm)
REVOKE_KEY = Operation("revoke-api-key", "Revoke API key", "api.revoke_api_key", RevokeKeyForm,
                       applies=lambda key: key.revoked_at is None)


@admin.register(ApiKey)
class ApiKeyAdmin(OperationsAdmin, AppendOnlyAdmin):
    """Keys are issued from the org's page and revoked here (both audited); only a hash of a secret is kept."""

    list_display = ["prefix", "name", "org", "kind", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["kind"]
    search_fields = ["prefix", "name", "org__slug", "org__name"]
    list_select_related = ["org"]
    exclude = ["key_hash"]
    operations = (REVOKE_KEY,)
