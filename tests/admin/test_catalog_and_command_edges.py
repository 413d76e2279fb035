"""Staff admin and management commands at their edges: catalog edits that would break orgs, tax rates, test
clocks, export and create_org arguments."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict
from django.urls import reverse

from accounts.models import Organization
from billing_portal.audit.models import AuditEntry
from billing_portal.catalog.models import Meter, Plan
from billing_portal.core.models import TestClock
from metering.selectors import credit_balance, quota_for
from tests.admin.conftest import change_url, operation_url, staff
from tests.factories import issue_invoice, make_org
from tests.metering.helpers import metered_org, record, reload
from tests.subscriptions.helpers import advance

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)

PLAN_FIELDS = ["code", "name", "tagline", "display_order", "is_public", "is_contact_sales", "is_signup_trial",
               "trial_days", "credit_model", "credit_allotment", "credit_per_seat", "grace_pct", "limit_members",
               "limit_spaces", "limit_concurrent_sessions", "limit_storage_mb", "feature_sso", "feature_scim",
               "feature_custom_limits", "feature_priority_support"]  # fmt: skip


def _value(value: Any) -> Any:
    return "" if value is None else ("on" if value is True else value)


def plan_post(plan: Plan, *, prices: dict[str, dict[str, Any]] | None = None,
              quotas: dict[str, dict[str, Any]] | None = None, delete_prices: tuple[str, ...] = (),
              **changes: Any) -> dict[str, Any]:
    """The Plan change form (with its price and quota inlines) as the admin page posts it, with `changes`."""
    data: dict[str, Any] = {}
    for name, value in model_to_dict(plan, fields=PLAN_FIELDS).items():
        value = changes.get(name, value)
        if value is not False:  # an unchecked box is not posted
            data[name] = _value(value)
    rows = list(plan.prices.order_by("currency"))
    data.update({"prices-TOTAL_FORMS": len(rows), "prices-INITIAL_FORMS": len(rows), "prices-MIN_NUM_FORMS": 0,
                 "prices-MAX_NUM_FORMS": 1000})  # fmt: skip
    for i, price in enumerate(rows):
        row = model_to_dict(price, fields=["id", "plan", "currency", "price_month", "price_year",
                                           "seat_price_month", "seat_price_year"])  # fmt: skip
        row.update((prices or {}).get(price.currency, {}))
        data.update({f"prices-{i}-{key}": _value(value) for key, value in row.items()})
        if price.currency in delete_prices:
            data[f"prices-{i}-DELETE"] = "on"
    rows = list(plan.quotas.order_by("meter__display_order"))
    data.update({"quotas-TOTAL_FORMS": len(rows), "quotas-INITIAL_FORMS": len(rows), "quotas-MIN_NUM_FORMS": 0,
                 "quotas-MAX_NUM_FORMS": 1000})  # fmt: skip
    for i, quota in enumerate(rows):
        row = model_to_dict(quota, fields=["id", "plan", "meter", "monthly_quota"])
        row.update((quotas or {}).get(quota.meter.code, {}))
        data.update({f"quotas-{i}-{key}": _value(value) for key, value in row.items()})
    return data


@pytest.fixture
def superuser(client):  # type: ignore[no-untyped-def]
    client.force_login(staff(superuser=True))
    client.raise_request_exception = False
    return client


# --- catalog edits that change money or break orgs on the plan ---------------------------------------------


def test_a_price_row_orgs_pay_in_cannot_be_deleted_from_the_plan_page(superuser):
    """Deleting a plan's EUR price row (the inline's delete box) while an org pays Starter in EUR is accepted;
    afterwards that org's admin page answers 500 ("Starter is not sold in EUR") and its renewal fails on every
    run. The plan form must refuse to delete a currency subscriptions are billed in."""
    org = make_org(plan="starter", currency="EUR", clock_at=T0)
    starter = Plan.objects.get(code="starter")
    superuser.post(change_url(starter), plan_post(starter, delete_prices=("EUR",)))
    assert starter.prices.filter(currency="EUR").exists(), "the price an org pays in was deleted"
    assert superuser.get(change_url(org)).status_code == 200


def test_renaming_a_plan_code_does_not_break_sign_ups_and_renewals(superuser):
    """The plan's `code` is editable on its change page. Renaming Free's code ("free" -> "basic") is saved, after
    which every sign-up and every renewal of a canceling org raises Plan.DoesNotExist (free_plan() looks it up by
    code). A plan's code is an identifier (API tiers, Stripe lookup keys): it must not change once it exists."""
    free = Plan.objects.get(code="free")
    superuser.post(change_url(free), plan_post(free, code="basic"))
    assert Plan.objects.filter(code="free").exists()
    make_org(name="Signs up afterwards")  # raised Plan.DoesNotExist


def test_a_quota_raised_in_the_catalog_applies_from_the_next_window_and_the_answers_agree(superuser):
    """Staff raise Team's tool_calls quota on the plan page. The open window keeps the limit it opened with (as
    prices wait for the next renewal), and the quota answer says what recording enforces: it used to report the
    new quota at once while recording enforced the old one. The next window brings the new quota."""
    org = metered_org("team")
    record(org)
    team = Plan.objects.get(code="team")
    old = team.quotas.get(meter__code="tool_calls").monthly_quota
    response = superuser.post(change_url(team), plan_post(team, quotas={"tool_calls": {"monthly_quota": old * 2}}))
    assert response.status_code == 302

    shown = quota_for(org=reload(org), meter="tool_calls")
    answer = record(org)
    assert shown.quota == answer.limit == old
    org = advance(reload(org), shown.window.end + timedelta(minutes=1))
    assert record(org).limit == quota_for(org=reload(org), meter="tool_calls").quota == old * 2


def test_a_tax_rate_added_with_a_lowercase_country_is_charged(superuser):
    """Finance adds Austria's VAT as country "at" (the form takes any two characters). Org countries are stored
    upper-case ("AT"), so the rate never matches and Austrian invoices are finalized with no tax, silently. The
    form must normalise (or refuse) the country code."""
    response = superuser.post(reverse("admin:invoices_taxrate_add"),
                              {"country": "at", "name": "USt", "rate_bp": "2000"})
    assert response.status_code == 302
    org = make_org(name="Wien GmbH", plan="free")
    Organization.objects.filter(pk=org.pk).update(country="AT")  # as the portal stores it (upper-cased)
    invoice = issue_invoice(Organization.objects.get(pk=org.pk))
    assert (invoice.tax_name, invoice.tax_rate_bp) == ("USt", 2000)
    assert invoice.tax == invoice.subtotal * 2000 // 10_000


# --- operations ----------------------------------------------------------------------------------------------


def test_advancing_a_test_clock_to_year_9999_is_refused_by_the_form(superuser):
    """The admin's "Advance test clock" takes any date: 9999-12-31 is accepted and the request steps through every
    month up to it (it ran for over nine minutes without answering; date arithmetic overflows near 9999). The
    advance_clock command refuses instants after 2999 with a clear error; the form must refuse them too. (The
    jobs are stubbed here so that the current code fails fast instead of hanging.)"""
    org = make_org(plan="team", clock_at=T0)
    clocks = "billing_portal.subscriptions.services.clocks"
    with mock.patch(f"{clocks}.next_due_times", return_value=[]), mock.patch(f"{clocks}.run_due_jobs", return_value=[]):
        response = superuser.post(operation_url(org, "advance-clock"), {"to": "9999-12-31 23:00"})
    assert TestClock.objects.get(pk=org.test_clock_id).frozen_time == T0, "the clock was moved to 9999"
    assert response.status_code == 200 and b"errorlist" in response.content


def test_the_test_clock_add_page_does_not_answer_500(superuser):
    """/admin/core/testclock/add/ offers a form with only `name` (frozen_time is read-only); saving it inserts a NULL
    frozen_time and answers 500 (IntegrityError). Clocks are made by create_org --test-clock: the admin should
    not offer adding one (or should ask for the time)."""
    response = superuser.post(reverse("admin:core_testclock_add"), {"name": "Demo clock"})
    assert response.status_code < 500


# --- management commands -------------------------------------------------------------------------------------


@pytest.mark.parametrize("out", ["folder", ""])
def test_export_invoices_to_a_folder_or_empty_path_is_a_clear_error(tmp_path, out):
    """`export_invoices --out <an existing folder>` writes the ZIP then fails renaming it over the folder
    (IsADirectoryError traceback); `--out ""` fails with ValueError ("PosixPath('.') has an empty name"). Both
    must be a CommandError naming the problem."""
    target = str(tmp_path) if out == "folder" else ""
    with pytest.raises(CommandError):
        call_command("export_invoices", "--month", "2026-03", "--out", target, stdout=io.StringIO())


def test_create_org_with_a_long_name_and_a_test_clock_names_the_clock_within_its_limit():
    """`create_org --name <96+ characters> --test-clock ...` crashed with DataError (varchar(100)): the clock is
    named "<org name> clock". A name the org accepts (up to 200 characters) makes the org and a clock whose name
    is cut to fit."""
    call_command("create_org", "--name", "N" * 120, "--owner-email", "long@example.com",
                 "--test-clock", "2026-01-01T00:00:00Z", stdout=io.StringIO())  # fmt: skip
    org = Organization.objects.select_related("test_clock").get(name="N" * 120)
    assert org.test_clock.name.endswith(" clock") and len(org.test_clock.name) <= 100


def test_a_meter_edit_is_audited_and_its_code_stays(superuser):
    """Meters were edited without an audit row, and their code (by which events and counters name them) could be
    renamed. Now the code is fixed once the meter exists and every saved change is audited."""
    meter = Meter.objects.get(code="tool_calls")
    data = {"code": "tools", "name": "Tool calls (agents)", "unit": meter.unit, "display_order": meter.display_order}
    assert superuser.post(change_url(meter), data).status_code == 302
    meter.refresh_from_db()
    assert (meter.code, meter.name) == ("tool_calls", "Tool calls (agents)")
    audited = AuditEntry.objects.filter(action="meter.changed").latest("id")
    assert audited.after == {"name": "Tool calls (agents)"}


def test_a_double_submitted_credit_grant_grants_once(client):
    """Support's "Grant credits" form has no idempotency key: posting the same form twice (a double click, a
    browser retry) grants twice, e.g. 2 x 1,000 credits, beyond the per-action support limit. Refunds and trial
    extensions already resist a double submit; a grant must too (a one-time key in the form)."""
    org = make_org(plan="team")
    before = credit_balance(org=org).total
    client.force_login(staff("metering.grant_credits"))
    form = client.get(operation_url(org, "grant-credits")).context["form"]
    hidden = {name: field.initial for name, field in form.fields.items()
              if field.widget.is_hidden and field.initial not in (None, "")}  # fmt: skip
    data = {**hidden, "credits": 1_000, "reason": "Outage on May 3"}
    assert client.post(operation_url(org, "grant-credits"), data).status_code == 302
    client.post(operation_url(org, "grant-credits"), data)
    assert credit_balance(org=org).total == before + 1_000
