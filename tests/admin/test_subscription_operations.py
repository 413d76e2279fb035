"""Trials, plan changes, cancelling, Enterprise and test clocks, run by staff through the org admin."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Organization
from billing_portal.catalog.models import QuotaOverride
from billing_portal.payments.models import Charge
from billing_portal.subscriptions.models import Status, Subscription
from invoices.models import Invoice, InvoiceKind
from tests.admin.conftest import changelist_url, last_entry, operation_url
from tests.factories import add_member, make_org
from tests.subscriptions.helpers import advance, plan

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def sub(org):
    return Subscription.objects.select_related("plan").get(org=org)


def test_support_extends_a_trial(client, login):
    org = make_org(plan="team", trial=True)
    ends = sub(org).trial_end
    user = login("subscriptions.extend_trial")
    page = client.get(operation_url(org, "extend-trial"))
    assert page.status_code == 200 and "Trial ends" in page.content.decode()

    response = client.post(
        operation_url(org, "extend-trial"),
        {"days": 10, "reason": "Evaluating SSO", "trial_end": ends.isoformat()},
    )
    assert response.status_code == 302
    extended = sub(org)
    assert extended.trial_end == extended.current_period_end == ends + timedelta(days=10)
    entry = last_entry("subscription.trial_extended")
    assert (entry.org, entry.actor_kind, entry.actor_user, entry.reason) == (
        org,
        "staff",
        user,
        "Evaluating SSO",
    )
    assert entry.before == {"status": "trialing", "trial_end": str(ends)}
    assert entry.after == {"status": "trialing", "trial_end": str(ends + timedelta(days=10)), "days": 10}
    assert entry.request_id


def test_a_double_submitted_extension_extends_once(client, login):
    org = make_org(plan="team", trial=True)
    ends = sub(org).trial_end
    login("subscriptions.extend_trial")
    form = {"days": 7, "reason": "More time", "trial_end": ends.isoformat()}
    assert client.post(operation_url(org, "extend-trial"), form).status_code == 302
    again = client.post(operation_url(org, "extend-trial"), form)
    assert again.status_code == 200 and "The trial changed since you looked" in again.content.decode()
    assert sub(org).trial_end == ends + timedelta(days=7)


@pytest.mark.parametrize("days", [0, -3, 91, "soon"])
def test_nonsense_extensions_are_form_errors(client, login, days):
    org = make_org(plan="team", trial=True)
    ends = sub(org).trial_end
    login("subscriptions.extend_trial")
    response = client.post(operation_url(org, "extend-trial"), {"days": days, "reason": "x"})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert sub(org).trial_end == ends
    assert not Organization.objects.get(pk=org.pk).audit_entries.filter(action="subscription.trial_extended").exists()


def test_only_trials_are_extended(client, login):
    org = make_org(plan="team")
    login("subscriptions.extend_trial")
    response = client.post(operation_url(org, "extend-trial"), {"days": 5, "reason": "x"})
    assert response.status_code == 200
    assert "Only a trial, or a trial that ended without a card" in response.content.decode()
    assert sub(org).status == Status.ACTIVE


def test_a_trial_that_ended_without_a_card_starts_again(client, login):
    org = make_org(plan="team", trial=True, clock_at=T0)
    org = advance(org, T0 + timedelta(days=15))
    assert sub(org).status == Status.PAUSED
    login("subscriptions.extend_trial")
    assert client.post(operation_url(org, "extend-trial"), {"days": 7, "reason": "Card coming"}).status_code == 302
    restarted = sub(org)
    assert (restarted.status, restarted.trial_end) == (Status.TRIALING, T0 + timedelta(days=22))
    assert last_entry("subscription.trial_extended").before["status"] == "paused"


def test_staff_without_the_permission_cannot_extend_trials(client, login):
    org = make_org(plan="team", trial=True)
    login("accounts.view_organization", "metering.grant_credits")
    assert client.get(operation_url(org, "extend-trial")).status_code == 403
    assert client.post(operation_url(org, "extend-trial"), {"days": 5, "reason": "x"}).status_code == 403
    changelist = client.get(changelist_url(Organization)).content.decode()
    assert 'value="extend-trial"' not in changelist and 'value="grant-credits"' in changelist
    assert "Extend trial" not in client.get(f"/admin/accounts/organization/{org.pk}/change/").content.decode()


def test_the_changelist_action_opens_the_form_for_one_org(client, login):
    org, other = make_org(plan="team", trial=True), make_org(name="Other", plan="team", trial=True)
    login("accounts.view_organization", "subscriptions.extend_trial")
    one = client.post(changelist_url(Organization), {"action": "extend-trial", "_selected_action": [org.pk]})
    assert one.status_code == 302 and one["Location"] == operation_url(org, "extend-trial")
    two = client.post(
        changelist_url(Organization),
        {"action": "extend-trial", "_selected_action": [org.pk, other.pk]},
        follow=True,
    )
    assert "works on one organization at a time" in two.content.decode()


def test_finance_changes_the_plan_after_reviewing_the_charge(client, login):
    org = make_org(plan="team")
    user = login("subscriptions.change_plan")
    business = plan("business")
    review = client.post(operation_url(org, "change-plan"), {"plan": business.pk, "interval": "month"})
    page = review.content.decode()
    assert review.status_code == 200 and "Charged now" in page and 'name="expected_amount"' in page
    assert sub(org).plan.code == "team"  # nothing changes before the confirmation
    confirm = review.context["confirm"]
    assert confirm["confirmed"] == "1" and confirm["plan"] == str(business.pk)

    assert client.post(operation_url(org, "change-plan"), confirm).status_code == 302
    assert sub(org).plan.code == "business"
    invoice = Invoice.objects.get(org=org, kind=InvoiceKind.UPGRADE)
    assert invoice.total == int(confirm["expected_amount"]) > 0
    entry = last_entry("subscription.plan_changed")
    assert (entry.actor_kind, entry.actor_user, entry.org) == ("staff", user, org)
    assert (entry.before["plan"], entry.after["plan"]) == ("team", "business")


def test_a_confirmation_whose_price_moved_changes_nothing(client, login):
    org = make_org(plan="team")
    login("subscriptions.change_plan")
    confirm = client.post(
        operation_url(org, "change-plan"), {"plan": plan("business").pk, "interval": "month"}
    ).context["confirm"]
    response = client.post(operation_url(org, "change-plan"), {**confirm, "expected_amount": "1"})
    assert response.status_code == 200 and "The price changed since you reviewed it" in response.content.decode()
    assert sub(org).plan.code == "team"
    skipped = client.post(
        operation_url(org, "change-plan"),
        {"plan": plan("business").pk, "interval": "month", "confirmed": "1"},
    )
    assert "Review the price before confirming" in skipped.content.decode()
    assert sub(org).plan.code == "team"


def test_a_downgrade_is_scheduled_then_resumed_and_cancel_is_scheduled(client, login):
    org = make_org(plan="team")
    login("subscriptions.change_plan")
    confirm = client.post(operation_url(org, "change-plan"), {"plan": plan("pro").pk, "interval": "month"}).context[
        "confirm"
    ]
    assert client.post(operation_url(org, "change-plan"), confirm).status_code == 302
    assert sub(org).scheduled_plan.code == "pro"
    assert last_entry("subscription.change_scheduled").actor_kind == "staff"

    assert client.post(operation_url(org, "resume"), {}).status_code == 302
    assert not sub(org).has_scheduled_change
    assert last_entry("subscription.scheduled_change_undone").before["scheduled_plan"] == "pro"

    assert client.post(operation_url(org, "cancel"), {"reason": "Customer asked by phone"}).status_code == 302
    assert sub(org).cancel_at_period_end
    entry = last_entry("subscription.cancel_scheduled")
    assert (entry.actor_kind, entry.reason) == ("staff", "Customer asked by phone")
    resumed = client.post(operation_url(org, "resume"), {})
    assert resumed.status_code == 302 and not sub(org).cancel_at_period_end


def test_support_cannot_change_plans_cancel_or_resume(client, login):
    org = make_org(plan="team")
    login("subscriptions.extend_trial", "metering.grant_credits")
    for name in ("change-plan", "cancel", "resume", "assign-enterprise"):
        assert client.post(operation_url(org, name), {"reason": "x"}).status_code == 403, name
    assert sub(org).plan.code == "team" and not sub(org).cancel_at_period_end


def test_finance_assigns_enterprise_with_custom_prices_and_quotas(client, login):
    org = make_org(plan="team")
    user = login("subscriptions.assign_enterprise")
    form = {
        "interval": "year",
        "base_price": "12,000.00",
        "seat_price": "100",
        "quota_tool_calls": "250000",
        "quota_ai_tokens": "unlimited",
        "quota_api_requests": "",
    }
    review = client.post(operation_url(org, "assign-enterprise"), form)
    assert review.status_code == 200 and "Charged now" in review.content.decode()
    assert sub(org).plan.code == "team" and not Charge.objects.filter(org=org, invoice__kind=InvoiceKind.UPGRADE)
    confirm = review.context["confirm"]
    assert client.post(operation_url(org, "assign-enterprise"), confirm).status_code == 302
    enterprise = sub(org)
    assert (enterprise.plan.code, enterprise.interval) == ("enterprise", "year")
    invoice = Invoice.objects.get(org=org, kind=InvoiceKind.UPGRADE)
    assert invoice.total == int(confirm["expected_amount"]) == Charge.objects.get(invoice=invoice).amount
    assert (enterprise.custom_base_price, enterprise.custom_seat_price) == (1_200_000, 10_000)
    overrides = dict(QuotaOverride.objects.filter(org=org).values_list("meter__code", "monthly_quota"))
    assert overrides == {"tool_calls": 250_000, "ai_tokens": None}
    entry = last_entry("subscription.enterprise_assigned")
    assert (entry.actor_user, entry.after["base_price"], entry.after["quotas"]) == (
        user,
        1_200_000,
        {"tool_calls": 250_000, "ai_tokens": None},
    )


def test_an_enterprise_confirmation_whose_amount_moved_changes_nothing(client, login):
    org = make_org(plan="team")
    login("subscriptions.assign_enterprise")
    form = {"interval": "month", "base_price": "2,500.00", "seat_price": "40.00"}
    confirm = client.post(operation_url(org, "assign-enterprise"), form).context["confirm"]
    add_member(org)  # a seat more since the preview
    response = client.post(operation_url(org, "assign-enterprise"), confirm)
    assert response.status_code == 200 and "The price changed since you reviewed it" in response.content.decode()
    assert sub(org).plan.code == "team" and not Invoice.objects.filter(org=org, kind=InvoiceKind.UPGRADE).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("base_price", "12.345"), ("seat_price", "ten"), ("quota_tool_calls", "lots"), ("base_price", "-5")],
)
def test_bad_enterprise_input_is_a_form_error(client, login, field, value):
    org = make_org(plan="team")
    login("subscriptions.assign_enterprise")
    form = {"interval": "month", "base_price": "100", "seat_price": "10", field: value}
    response = client.post(operation_url(org, "assign-enterprise"), form)
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert sub(org).plan.code == "team"


def test_staff_advance_a_test_clock_and_due_jobs_run(client, login):
    org = make_org(plan="team", trial=True, clock_at=T0, card="succeeds")
    user = login("subscriptions.advance_test_clock")
    target = T0 + timedelta(days=15)
    response = client.post(operation_url(org, "advance-clock"), {"to": target.strftime("%Y-%m-%d %H:%M")})
    assert response.status_code == 302
    assert sub(org).status == Status.ACTIVE  # the trial converted on the way
    entry = last_entry("test_clock.advanced")
    assert (entry.actor_user, entry.after["frozen_time"]) == (user, str(target))
    backwards = client.post(operation_url(org, "advance-clock"), {"to": "2026-03-01 00:00"})
    assert backwards.status_code == 200 and "only moves forward" in backwards.content.decode()


def test_clock_advance_needs_its_permission_and_a_test_clock(client, login):
    org = make_org(plan="team", clock_at=T0)
    login("subscriptions.change_plan")
    assert client.post(operation_url(org, "advance-clock"), {"to": "2026-04-01 00:00"}).status_code == 403
    login("subscriptions.advance_test_clock")
    no_clock = make_org(name="Real time", plan="team")
    response = client.post(operation_url(no_clock, "advance-clock"), {"to": "2030-04-01 00:00"})
    assert response.status_code == 200 and "has no test clock" in response.content.decode()
