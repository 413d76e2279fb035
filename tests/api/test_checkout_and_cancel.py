"""POST /api/billing/checkout and /api/billing/cancel: nothing is charged without the owner confirming."""

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import Role
from billing_portal.audit.models import AuditEntry
from billing_portal.audit.services import Actor
from billing_portal.subscriptions.models import Status
from billing_portal.subscriptions.services.closure import org_request_closure
from invoices.models import Invoice
from tests.api.helpers import NOW, key_client, paying_org, session_client
from tests.factories import add_member, make_org
from tests.subscriptions.helpers import advance, owner

pytestmark = pytest.mark.django_db
CHECKOUT, CANCEL = reverse("api-checkout"), reverse("api-cancel")
URLS = {"success_url": "https://app.example.com/done", "cancel_url": "https://app.example.com/plans"}


def checkout(client, tier, interval="month", **body):
    return client.post(CHECKOUT, {"tier": tier, "billing_interval": interval, **URLS, **body}, format="json")


@pytest.mark.parametrize(("tier", "interval"), [("business", "month"), ("team", "year"), ("pro", "month")])
def test_upgrades_and_downgrades_answer_the_portal_page_where_the_owner_confirms(tier, interval):
    org = paying_org()
    invoices = Invoice.objects.filter(org=org).count()
    response = checkout(key_client(org, "billing:write"), tier, interval)
    assert response.status_code == 200
    confirmation = f"http://testserver/billing/plans/change/?plan={tier}&interval={interval}"
    assert response.json() == {"url": confirmation}
    org.subscription.refresh_from_db()
    assert (org.subscription.plan.code, org.subscription.scheduled_plan) == ("team", None)
    assert Invoice.objects.filter(org=org).count() == invoices


def test_enterprise_is_contact_sales():
    response = checkout(key_client(paying_org(), "billing:write"), "enterprise")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "contact_sales"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tier": "platinum"}, "tier"),
        ({"billing_interval": "week"}, "billing_interval"),
        ({"success_url": "not a url"}, "success_url"),
        ({"cancel_url": ""}, "cancel_url"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(body, field):
    response = checkout(key_client(paying_org(), "billing:write"), **{"tier": "business", **body})
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_the_current_plan_is_no_change():
    response = checkout(key_client(paying_org(), "billing:write"), "team")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_change"


def test_checkout_and_cancel_need_billing_write_and_a_live_key():
    org = paying_org()
    for client in (key_client(org, "billing:read", "usage"), key_client(org, "billing:write", kind="test")):
        for response in (checkout(client, "business"), client.post(CANCEL, format="json")):
            assert response.status_code == 403
    assert checkout(key_client(org, "billing:write", kind="test"), "business").json()["error"]["code"] == (
        "live_key_required"
    )
    org.subscription.refresh_from_db()
    assert org.subscription.cancel_at_period_end is False


def test_only_the_owner_checks_out_or_cancels_from_a_session():
    org = paying_org()
    for role in (Role.ADMIN, Role.MEMBER):
        client = session_client(add_member(org, role=role))
        assert checkout(client, "business").status_code == 403
        assert client.post(CANCEL, format="json").status_code == 403
    assert checkout(session_client(owner(org)), "business").status_code == 200


def test_a_session_needs_the_csrf_token_on_posts():
    org = paying_org()
    client = session_client(owner(org), csrf=True)
    response = client.post(CANCEL, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


def test_cancel_schedules_the_move_to_free_at_the_period_end_and_records_the_key():
    org = paying_org()
    client = key_client(org, "billing:write")
    response = client.post(CANCEL, {"reason": "Too expensive"}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "Subscription will be canceled at end of billing period",
        "effective_at": "2026-04-10T12:00:00Z",
    }
    org.subscription.refresh_from_db()
    assert org.subscription.cancel_at_period_end is True and org.subscription.plan.code == "team"
    entry = AuditEntry.objects.get(org=org, action="subscription.cancel_scheduled")
    assert (entry.actor_kind, entry.actor_label) == ("api_key", client.api_key.prefix)
    assert entry.reason == "Too expensive"
    again = client.post(CANCEL, format="json")  # asking again changes nothing and records nothing
    assert (again.status_code, again.json()["effective_at"]) == (200, "2026-04-10T12:00:00Z")
    assert AuditEntry.objects.filter(org=org, action="subscription.cancel_scheduled").count() == 1


def test_a_closed_account_has_nothing_left_to_cancel():
    org = paying_org()
    org_request_closure(org=org, by=owner(org), actor=Actor.system("tests"))
    response = session_client(owner(org)).post(CANCEL, format="json")
    assert (response.status_code, response.json()["error"]["message"]) == (403, "This account is closed.")
    org.subscription.refresh_from_db()
    assert (org.subscription.status, org.subscription.cancel_at_period_end) == (Status.CANCELED, False)
    assert not AuditEntry.objects.filter(org=org, action="subscription.cancel_scheduled").exists()


def test_cancelling_a_paused_subscription_moves_to_free_now():
    org = make_org(plan="team", trial=True, clock_at=NOW)
    org = advance(org, NOW + timedelta(days=15))
    assert org.subscription.status == Status.PAUSED
    response = key_client(org, "billing:write").post(CANCEL, format="json")
    assert response.status_code == 200
    assert response.json()["effective_at"] == "2026-03-25T12:00:00Z"
    org.subscription.refresh_from_db()
    assert org.subscription.plan.code == "free"


def test_the_free_plan_has_nothing_to_cancel():
    response = key_client(make_org(), "billing:write").post(CANCEL, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_change"
