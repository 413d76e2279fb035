"""The Support and Finance groups the migration makes, and what each sees on an organization."""

import pytest
from django.contrib.auth.models import Group

from tests.admin.conftest import change_url, staff
from tests.factories import issue_invoice, make_org

pytestmark = pytest.mark.django_db
SUPPORT_OPERATIONS = {"extend-trial", "grant-credits", "revoke-credits"}
FINANCE_OPERATIONS = {
    "grant-credits",
    "revoke-credits",
    "credit-limit",
    "change-plan",
    "cancel",
    "assign-enterprise",
}
INVOICE_OPERATIONS = {"void", "resend", "rerender-pdf"}


def member_of(client, name):
    user = staff(group=name)
    client.force_login(user)
    return user


def operations_on(client, obj, names):
    page = client.get(change_url(obj))
    assert page.status_code == 200
    return {name for name in names if f"/do/{name}/" in page.content.decode()}


def codenames(name):
    return {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=name).permissions.all()}


def test_support_looks_up_extends_trials_and_grants_small_credits(client):
    support = codenames("Support")
    assert {
        "accounts.view_organization",
        "metering.view_creditentry",
        "invoices.view_invoice",
        "audit.view_auditentry",
        "subscriptions.extend_trial",
        "metering.grant_credits",
    } <= support
    assert not support & {
        "metering.grant_large_credits",
        "payments.refund_charge",
        "invoices.void_invoice",
        "invoices.export_invoices",
        "subscriptions.change_plan",
    }
    assert not {label for label in support if label.split(".")[1].startswith(("add_", "change_", "delete_"))}
    user = member_of(client, "Support")
    org = make_org(plan="team", trial=True)
    everything = SUPPORT_OPERATIONS | FINANCE_OPERATIONS | {"advance-clock", "resync-stripe"}
    assert operations_on(client, org, everything) == SUPPORT_OPERATIONS
    assert operations_on(client, issue_invoice(org), INVOICE_OPERATIONS | {"refund"}) == set()
    assert user.has_perm("metering.grant_credits") and not user.has_perm("metering.grant_large_credits")


def test_finance_runs_invoices_exports_refunds_and_plan_changes(client):
    finance = codenames("Finance")
    assert {
        "invoices.export_invoices",
        "invoices.void_invoice",
        "invoices.resend_invoice",
        "invoices.rerender_invoice_pdf",
        "payments.refund_charge",
        "metering.grant_large_credits",
        "subscriptions.change_plan",
        "payments.reprocess_stripe_event",
    } <= finance
    assert "subscriptions.extend_trial" not in finance and "subscriptions.advance_test_clock" not in finance
    member_of(client, "Finance")
    org = make_org(plan="team")
    assert operations_on(client, org, SUPPORT_OPERATIONS | FINANCE_OPERATIONS) == FINANCE_OPERATIONS
    assert operations_on(client, issue_invoice(org), INVOICE_OPERATIONS) == INVOICE_OPERATIONS
