"""The billing pages through the test client: who sees what, and each form's happy and unhappy path."""

from datetime import UTC, datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts import services as accounts
from accounts.models import Invitation, Membership
from billing_portal.payments.models import PaymentMethod
from billing_portal.subscriptions.models import Status
from invoices.models import Invoice, InvoiceKind
from metering.services import UsageInput, usage_record
from tests.factories import add_member, make_org
from tests.metering.helpers import reload
from tests.subscriptions.helpers import advance, owner

pytestmark = pytest.mark.django_db
JAN10 = datetime(2026, 1, 10, tzinfo=UTC)
BILLING_PAGES = ["portal:overview", "portal:plans", "portal:payment", "portal:invoices", "portal:members"]


@pytest.fixture
def team():
    org = make_org(plan="team", clock_at=JAN10)
    return org


def signed_in(client, membership):
    client.force_login(membership.user)
    return client


@pytest.mark.parametrize("page", BILLING_PAGES + ["portal:activity"])
def test_owner_sees_every_page(client, team, page):
    response = signed_in(client, owner(team)).get(reverse(page))
    assert response.status_code == 200
    assert team.name.encode() in response.content


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_get_no_billing_pages_and_no_links(client, team, role):
    someone = add_member(team, role=role)
    signed_in(client, someone)
    for page in BILLING_PAGES + ["portal:activity"]:
        assert client.get(reverse(page)).status_code == 403
    home = client.get(reverse("portal:home"))
    assert home.status_code == 200
    assert b"/billing/" not in home.content.replace(b"/billing/switch-org/", b"")


def test_admin_and_billing_read_see_billing_but_cannot_change_the_plan(client, team):
    admin = add_member(team, role="admin")
    signed_in(client, admin)
    assert client.get(reverse("portal:plans")).status_code == 200
    assert b"Only the owner can change the plan" in client.get(reverse("portal:plans")).content
    assert client.get(reverse("portal:activity")).status_code == 403
    response = client.post(reverse("portal:cancel"))
    assert response.status_code == 403
    team.subscription.refresh_from_db()
    assert team.subscription.cancel_at_period_end is False


def test_preview_then_confirm_charges_the_previewed_amount(client, team):
    team = advance(team, datetime(2026, 1, 20, 12, tzinfo=UTC))
    signed_in(client, owner(team))
    url = reverse("portal:plan-change")
    preview = client.get(url, {"plan": "business", "interval": "month"})
    assert preview.status_code == 200
    amount = preview.context["preview"].amount_due
    assert f"Pay {amount}".encode() in preview.content
    response = client.post(url, {"plan": "business", "interval": "month", "quote": preview.context["quote"]})
    assert response.status_code == 302
    upgrade = Invoice.objects.get(org=team, kind=InvoiceKind.UPGRADE)
    assert upgrade.total == amount.amount and upgrade.status == "paid"


def test_a_tampered_quote_changes_nothing(client, team):
    signed_in(client, owner(team))
    response = client.post(reverse("portal:plan-change"), {"plan": "business", "interval": "month", "quote": "x:y:z"})
    assert response.status_code == 302
    team.subscription.refresh_from_db()
    assert team.subscription.plan.code == "team"


def test_bad_plan_choice_is_a_message_not_an_error(client, team):
    signed_in(client, owner(team))
    response = client.get(reverse("portal:plan-change"), {"plan": "nope", "interval": "fortnight"}, follow=True)
    assert response.status_code == 200 and b"Choose a plan" in response.content


def test_invite_shows_pending_not_as_a_seat_and_field_errors(client, team):
    signed_in(client, owner(team))
    response = client.post(reverse("portal:invite"), {"email": "new@example.com", "role": "member"})
    assert response.status_code == 200 and b"new@example.com" in response.content
    assert Invitation.objects.filter(org=team, email="new@example.com", status="pending").exists()
    assert response.context["seats"] == 1
    bad = client.post(reverse("portal:invite"), {"email": "not-an-email", "role": "owner"})
    assert bad.status_code == 400
    assert set(bad.context["invite_form"].errors) == {"email", "role"}


def test_a_member_action_the_role_may_not_make_is_a_403_and_a_bad_role_an_error(client, team):
    admin, member = add_member(team, role="admin"), add_member(team)
    signed_in(client, admin)
    assert client.post(reverse("portal:member-transfer", args=[member.pk])).status_code == 403
    assert client.post(reverse("portal:member-role", args=[owner(team).pk]), {"role": "member"}).status_code == 403
    signed_in(client, owner(team))
    response = client.post(reverse("portal:member-role", args=[member.pk]), {"role": "owner"})
    assert [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)] == [
        ("error", f"{member.user.email}: choose a valid role.")
    ]
    member.refresh_from_db()
    assert member.role == "member"


def test_the_usage_log_finds_a_person_who_left_and_came_back(client, team):
    member = add_member(team)
    accounts.membership_remove(membership=member, by=owner(team))
    usage_record(org=reload(team), events=[UsageInput(key="as-new", meter="tool_calls", quantity=1,
                                                      user=add_member(team, user=member.user).user.email)])
    signed_in(client, owner(team))
    page = client.get(reverse("portal:usage"), {"member": member.user.email.upper()}).context["page"]
    assert [event.key for event in page] == ["as-new"]


def test_test_card_picker_resumes_a_paused_org(client):
    org = make_org(plan="pro", trial=True, clock_at=JAN10)
    org = advance(org, datetime(2026, 1, 25, tzinfo=UTC))
    assert org.subscription.status == Status.PAUSED
    signed_in(client, owner(org))
    assert b"metered work is paused" in client.get(reverse("portal:overview")).content
    client.post(reverse("portal:payment-method"), {"card": "succeeds"})
    org.subscription.refresh_from_db()
    assert org.subscription.status == Status.ACTIVE
    assert PaymentMethod.objects.get(org=org, is_default=True).last4 == "4242"
    assert client.post(reverse("portal:payment-method"), {"card": "4242424242424242"}).status_code == 302
    assert PaymentMethod.objects.filter(org=org).count() == 1


def test_billing_details_form_errors_and_save(client, team):
    signed_in(client, owner(team))
    bad = client.post(reverse("portal:payment"), {"billing_email": "nope", "country": "123"})
    assert bad.status_code == 400 and set(bad.context["details"].errors) == {"billing_email", "country"}
    client.post(reverse("portal:payment"), {"billing_email": "AP@Acme.test", "tax_id": "DE123", "country": "de",
                                            "billing_address": "1 Way"})
    team.refresh_from_db()
    assert (team.billing_email, team.tax_id, team.country) == ("ap@acme.test", "DE123", "DE")


def test_no_page_shows_another_orgs_data(client, team):
    other = make_org(name="Other Co", plan="team", clock_at=JAN10)
    stranger = add_member(other)
    signed_in(client, owner(team))
    response = client.post(reverse("portal:member-remove", args=[stranger.pk]))
    assert response.status_code == 404
    assert Membership.objects.get(pk=stranger.pk).removed_at is None
    # Switching to an org you are not in is ignored.
    client.post(reverse("portal:switch-org"), {"org": other.pk})
    assert b"Other Co" not in client.get(reverse("portal:overview")).content


def test_csrf_is_enforced(team):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner(team).user)
    assert client.post(reverse("portal:cancel")).status_code == 403
