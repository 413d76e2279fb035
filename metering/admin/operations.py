"""Credit operations staff run on an organization: grants, revokes and per-user credit limits."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms

from accounts.models import Membership, Organization
from billing_portal.audit.services import Actor
from billing_portal.core.admin import Operation, OperationForm
from metering.models.usage import CREDITS_METER
from metering.selectors import credit_balance
from metering.services import cap_remove, cap_set, credits_grant, credits_revoke
from metering.services.rules import MAX_LIMIT

# Support moves at most this many credits per grant or revoke; more needs metering.grant_large_credits.
SUPPORT_CREDIT_LIMIT = 1_000


def _member(org: Organization, email: str) -> Membership | None:
    if not email:
        return None
    member = Membership.objects.active().filter(org=org, user__email__iexact=email.strip()).first()
    if member is None:
        raise forms.ValidationError(f"No active member of {org} has that email.")
    return member


class CreditsForm(OperationForm):
    obj: Organization
    credits = forms.IntegerField(min_value=1, max_value=MAX_LIMIT)
    member = forms.EmailField(required=False, help_text="Per-member plans: whose credits. Leave blank on pooled plans.")
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))
    # One per form: a double submit moves credits once (a post without one is not deduplicated).
    key = forms.CharField(widget=forms.HiddenInput, max_length=100, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key"].initial = f"staff-credits:{uuid.uuid4().hex}"

    def summary(self) -> list[tuple[str, Any]]:
        balance = credit_balance(org=self.obj)
        return [
            (
                "Credits",
                f"{balance.total:,} ({balance.allotment:,} allotment, {balance.topups:,} top-ups and grants)",
            )
        ]

    def clean_credits(self) -> int:
        credits: int = self.cleaned_data["credits"]
        if credits > SUPPORT_CREDIT_LIMIT and not self.user.has_perm("metering.grant_large_credits"):
            raise forms.ValidationError(
                f"You can move up to {SUPPORT_CREDIT_LIMIT:,} credits at a time; ask finance for more."
            )
        return credits

    def clean_member(self) -> Membership | None:
        return _member(self.obj, self.cleaned_data["member"])

    def movement(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"org": self.obj, "credits": data["credits"], "reason": data["reason"], "member": data["member"],
                "idempotency_key": data["key"] or None}


class GrantCreditsForm(CreditsForm):
    def run(self, actor: Actor) -> str:
        credits_grant(actor=actor, **self.movement())
        return f"Granted {self.cleaned_data['credits']:,} credits to {self.obj}."


class RevokeCreditsForm(CreditsForm):
    def run(self, actor: Actor) -> str:
        credits_revoke(actor=actor, **self.movement())
        return f"Took back {self.cleaned_data['credits']:,} credits from {self.obj}."


class CreditLimitForm(OperationForm):
    obj: Organization
    member = forms.EmailField()
    limit = forms.IntegerField(
        min_value=0, max_value=MAX_LIMIT, required=False,
        help_text="Credits per month for this user; blank removes the limit.",
    )

    def clean_member(self) -> Membership | None:
        return _member(self.obj, self.cleaned_data["member"])

    def run(self, actor: Actor) -> str:
        member, limit = self.cleaned_data["member"], self.cleaned_data["limit"]
        if limit is None:
            cap_remove(org=self.obj, meter=CREDITS_METER, by=self.user, member=member)
            return f"{member.user} has no credit limit in {self.obj} now."
        cap_set(org=self.obj, meter=CREDITS_METER, limit=limit, by=self.user, member=member)
        return f"{member.user} may use {limit:,} credits a month in {self.obj}."


GRANT_CREDITS = Operation("grant-credits", "Grant credits", "metering.grant_credits", GrantCreditsForm)
REVOKE_CREDITS = Operation("revoke-credits", "Revoke credits", "metering.grant_credits", RevokeCreditsForm)
SET_CREDIT_LIMIT = Operation("credit-limit", "Set per-user credit limit", "metering.set_credit_limits", CreditLimitForm)
OPERATIONS = (GRANT_CREDITS, REVOKE_CREDITS, SET_CREDIT_LIMIT)
