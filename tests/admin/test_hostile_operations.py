"""Every staff operation with a form, fed malformed values one field at a time (negative, huge, past a bigint,
unicode digits, NUL, oversize): accepted, or refused with the form's errors, never a 500, and nothing
half-written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from billing_portal.catalog.models import Plan
from invoices.models import Invoice, InvoiceKind, InvoiceStatus
from tests.admin.conftest import operation_url, staff
from tests.factories import add_member, issue_invoice, make_org
from tests.hostile import hostile_posts

pytestmark = pytest.mark.django_db


def paid_invoice() -> Invoice:
    return Invoice.objects.get(org=make_org(plan="team"), kind=InvoiceKind.SUBSCRIPTION_START,
                               status=InvoiceStatus.PAID)  # fmt: skip


def team_with_member() -> Any:
    org = make_org(plan="team")
    add_member(org)
    return org


def business() -> str:
    return str(Plan.objects.get(code="business").pk)


# (the object, the operation, its valid fields given the object, the fields fuzzed)
OPERATIONS: dict[str, tuple[Callable[[], Any], str, Callable[[Any], dict[str, str]], list[str]]] = {
    "grant credits": (team_with_member, "grant-credits", lambda org: {"credits": "10", "reason": "Deal"},
                      ["credits", "member", "reason"]),
    "revoke credits": (team_with_member, "revoke-credits", lambda org: {"credits": "10", "reason": "Fix"},
                       ["credits", "member", "reason"]),
    "credit limit": (team_with_member, "credit-limit",
                     lambda org: {"member": org.memberships.last().user.email, "limit": "10"}, ["member", "limit"]),
    "change plan": (team_with_member, "change-plan", lambda org: {"plan": business(), "interval": "month"},
                    ["plan", "interval", "proration_at", "expected_amount"]),
    "confirm plan change": (team_with_member, "change-plan", lambda org: {
        "plan": business(), "interval": "month", "confirmed": "1", "proration_at": "2026-01-01T00:00:00+00:00",
        "expected_amount": "100"}, ["proration_at", "expected_amount"]),
    "cancel": (team_with_member, "cancel", lambda org: {"reason": "Asked by phone"}, ["reason"]),
    "assign enterprise": (team_with_member, "assign-enterprise", lambda org: {
        "interval": "month", "base_price": "2500.00", "seat_price": "40.00"},
        ["interval", "base_price", "seat_price", "quota_tool_calls", "quota_ai_tokens"]),
    "issue api key": (team_with_member, "issue-api-key", lambda org: {"name": "ci", "kind": "live", "scopes": "usage"},
                      ["name", "kind", "scopes"]),
    "extend trial": (lambda: make_org(plan="team", trial=True), "extend-trial",
                     lambda org: {"days": "5", "reason": "Evaluation"}, ["days", "reason", "trial_end"]),
    "refund": (paid_invoice, "refund", lambda invoice: {
        "charge": str(invoice.charges.get().pk), "amount": "1.00", "reason": "Goodwill", "key": "refund:abc"},
        ["charge", "amount", "reason", "key"]),
    "void": (lambda: issue_invoice(make_org(name="Acme")), "void", lambda invoice: {"reason": "Duplicate"}, ["reason"]),
}  # fmt: skip


@pytest.mark.parametrize("name", OPERATIONS)
def test_malformed_values_get_a_form_error_never_a_500_and_write_nothing(name, client: Client):
    make, operation, valid, fuzzed = OPERATIONS[name]
    obj = make()
    client.force_login(staff(superuser=True))
    problems = hostile_posts(client, operation_url(obj, operation), valid(obj), fuzzed)
    assert not problems, problems
