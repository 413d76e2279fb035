"""Portal forms and roles at their edges: a form sent after switching org, caps between roles, stale pages, reloads."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts import services as accounts
from accounts.models import Membership
from billing_portal.api.models import ApiKey
from billing_portal.core.models import TestClock
from billing_portal.subscriptions.models import Subscription
from invoices.models import Invoice, InvoiceKind
from metering.models import UsageCap
from metering.services import cap_set
from tests.factories import UserFactory, add_member, make_org
from tests.subscriptions.helpers import owner

pytestmark = pytest.mark.django_db
JAN10 = datetime(2026, 1, 10, tzinfo=UTC)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def form_fields(html: bytes, action: str) -> dict[str, str]:
    """The fields a browser would post from the form with this action on a rendered page (hidden inputs, the
    checked radio), CSRF token left out."""
    form = re.search(rb'<form method="post" action="' + re.escape(action.encode()) + rb'".*?</form>', html, re.S)
    assert form, f"no form posting to {action}"
    fields = {}
    for tag in re.findall(rb"<input[^>]*>", form.group(0)):
        name = re.search(rb'name="([^"]+)"', tag)
        value = re.search(rb'value="([^"]*)"', tag)
        kind = re.search(rb'type="([^"]+)"', tag)
        if not name or name.group(1) == b"csrfmiddlewaretoken":
            continue
        if kind and kind.group(1) == b"radio" and b"checked" not in tag:
            continue
        fields[name.group(1).decode()] = value.group(1).decode() if value else ""
    return fields


@pytest.fixture
def two_orgs():
    """One person owning two paying orgs (as owner@demo.test owns every demo org)."""
    person = UserFactory()
    first = make_org(name="Aardvark", plan="team", clock_at=JAN10, owner=person)
    second = make_org(name="Zebra", plan="team", clock_at=JAN10, owner=person)
    return person, first, second


def test_cancel_form_of_one_org_cancels_another_org_after_an_org_switch(client, two_orgs):
    """Bug: portal forms carry no org; a POST acts on whatever org the session has switched to since the page was
    rendered. An owner with Aardvark's Plans page open who switches to Zebra in another tab and then presses
    "Cancel plan" on Aardvark's page cancels Zebra. Expected: the form names the org it was rendered for, and a
    POST for another org than the current one is refused (or acts on the org it names), never on a different one."""
    person, first, second = two_orgs
    client.force_login(person)
    client.post(reverse("portal:switch-org"), {"org": first.pk})
    page = client.get(reverse("portal:plans"))
    assert b"Aardvark" in page.content
    fields = form_fields(page.content, reverse("portal:cancel"))

    client.post(reverse("portal:switch-org"), {"org": second.pk})  # another tab
    client.post(reverse("portal:cancel"), fields)  # the button on Aardvark's page

    assert not Subscription.objects.get(org=second).cancel_at_period_end, "Zebra was canceled from Aardvark's page"


def test_top_up_form_of_one_org_charges_another_org_after_an_org_switch(client, two_orgs):
    """Bug: the top-up form from one org's Credits page, submitted after switching org in another tab, charges
    the other org's card and credits its pool. Expected: the purchase is refused (or made for the org whose page
    it was), never charged to an org the owner was not looking at."""
    person, first, second = two_orgs
    client.force_login(person)
    client.post(reverse("portal:switch-org"), {"org": first.pk})
    page = client.get(reverse("portal:credits"))
    fields = form_fields(page.content, reverse("portal:buy-topup"))
    assert fields.get("pack") and fields.get("request_key")

    client.post(reverse("portal:switch-org"), {"org": second.pk})
    client.post(reverse("portal:buy-topup"), fields)

    assert not Invoice.objects.filter(org=second, kind=InvoiceKind.TOPUP).exists(), \
        "Zebra was charged for a top-up bought on Aardvark's page"


def test_admin_cannot_lift_a_cap_the_owner_put_on_them(client):
    """Bug: set_cap (CapForm + metering cap_set/cap_remove) only checks that the actor is OWNER or ADMIN, not
    that they may act on the capped member. An ADMIN removes the monthly cap the OWNER put on the ADMIN.
    Expected: as for roles and removals (permissions.can_act_on_member), an ADMIN caps only MEMBERs and VIEWERs
    (and spaces); a cap on themselves or the OWNER is refused and stays as it was."""
    org = make_org(plan="team", clock_at=JAN10)
    admin = add_member(org, role="admin")
    cap_set(org=org, meter="tool_calls", limit=10, by=owner(org), member=admin)
    client.force_login(admin.user)

    client.post(reverse("portal:cap-set"), {"member_email": admin.user.email, "meter": "tool_calls", "limit": ""})

    assert UsageCap.objects.filter(org=org, member=admin, meter="tool_calls", limit=10).exists()


def test_admin_cannot_cap_the_owner_to_zero(client):
    """Bug: an ADMIN can set a cap of 0 on the OWNER's usage, blocking the owner's own calls with
    billing_limit_reached (and the page says "Cap set"). Expected: refused; an ADMIN acts on MEMBERs and VIEWERs
    only."""
    org = make_org(plan="team", clock_at=JAN10)
    admin = add_member(org, role="admin")
    client.force_login(admin.user)

    client.post(reverse("portal:cap-set"), {"member_email": owner(org).user.email, "meter": "tool_calls",
                                            "limit": "0"})

    assert not UsageCap.objects.filter(org=org, member=owner(org)).exists()


def test_role_change_message_names_the_new_role(client):
    """Bug: members._change_role builds its message from the Membership it read before the change, while
    accounts.services.membership_change_role re-reads the row under lock and changes that copy: making a MEMBER
    an ADMIN says "... is now Member." Expected: the message names the role just given."""
    org = make_org(plan="team", clock_at=JAN10)
    member = add_member(org, role="member")
    client.force_login(owner(org).user)

    response = client.post(reverse("portal:member-role", args=[member.pk]), {"role": "admin"})

    member.refresh_from_db()
    assert member.role == "admin"
    assert f"{member.user.email} is now Admin." in messages_of(response), messages_of(response)


def test_revoking_an_invitation_already_accepted_does_not_say_it_was_revoked(client):
    """Bug: revoke_invitation looks the invitation up in any status and always answers "The invitation for X was
    revoked.", while invitation_revoke changes nothing unless it is pending: revoking one that was accepted (a
    stale Members page, a double click) says it was revoked while the person stays a member. Expected: no success
    message; an error saying the invitation was already accepted (or a 404 for a non-pending invitation)."""
    org = make_org(plan="team", clock_at=JAN10)
    person = UserFactory()
    invitation, token = accounts.invitation_create(org=org, email=person.email, role="member", by=owner(org))
    accounts.invitation_accept(token=token, user=person)
    client.force_login(owner(org).user)

    response = client.post(reverse("portal:invitation-revoke", args=[invitation.pk]))

    assert Membership.objects.active().filter(org=org, user=person).exists()
    assert not any("was revoked" in text for text in messages_of(response)), messages_of(response)


def test_signed_out_visitor_of_a_revoked_invitation_is_told_it_is_not_valid(client):
    """Bug: accept_invitation renders the invitation to a signed-out visitor whatever its status (only the
    signed-in branch checks it is pending), so a revoked or accepted link shows "Join Acme ... Sign in to accept"
    (and the org's name) and fails only after signing in. Expected: "Invitation not valid", as signed-in
    visitors see."""
    org = make_org(name="Acme", plan="team", clock_at=JAN10)
    invitation, token = accounts.invitation_create(org=org, email="someone@example.com", role="member", by=owner(org))
    accounts.invitation_revoke(invitation=invitation, by=owner(org))

    response = client.get(reverse("portal:accept-invitation", args=[token]))

    assert response.status_code == 200
    assert b"Invitation not valid" in response.content
    assert b"Join Acme" not in response.content


def test_free_org_is_not_offered_an_upgrade_to_free_yearly(client):
    """Bug: on a Free org the Plans page offers "Upgrade" on the Free card's yearly side; the preview shows
    "Upgrade to Free (yearly)", a $0.00 invoice line and a "Pay $0.00 and upgrade" button, and confirming says
    "You are now on Free." while nothing changes (subscription_switch_to_free does nothing on Free).
    Expected: Free at either interval is the current plan: the preview is refused as "That is already your plan"
    (_validate_target / plans._action)."""
    org = make_org(plan="free", clock_at=JAN10)
    client.force_login(owner(org).user)

    response = client.get(reverse("portal:plan-change"), {"plan": "free", "interval": "year"})

    assert response.status_code == 302, "a preview page for moving from Free to Free was shown"
    assert response["Location"] == reverse("portal:plans")


def test_reloading_the_new_api_key_page_does_not_create_a_second_key(client):
    """The key-create POST used to answer with the secret rendered in place, so reloading that page re-sent the
    form and made a second live key. Now it redirects to the list, which shows the new secret once: reloading
    sends nothing again and shows the secret no more."""
    org = make_org(plan="team", clock_at=JAN10)
    client.force_login(owner(org).user)
    page = client.get(reverse("portal:api-keys"))
    fields = form_fields(page.content, reverse("portal:api-keys"))
    created = client.post(reverse("portal:api-keys"), {**fields, "name": "backend", "kind": "live",
                                                       "scopes": "usage"})
    assert (created.status_code, created["Location"]) == (302, reverse("portal:api-keys"))
    shown = client.get(created["Location"]).content.decode()
    secret = re.search(r"bp_live_[A-Za-z0-9_-]{20,}", shown)
    assert secret, "the new key's secret is shown after the redirect"
    reloaded = client.get(created["Location"]).content.decode()
    assert secret.group(0) not in reloaded
    assert ApiKey.objects.filter(org=org).count() == 1


def test_an_expired_invitation_is_no_longer_listed_as_pending(client):
    """The Members page listed invitations past their expiry under "Pending invitations" (with a past date), and
    their links said "Join ..." to signed-out visitors, though accepting one fails."""
    org = make_org(name="Acme", plan="team", clock_at=JAN10)
    _, token = accounts.invitation_create(org=org, email="late@example.com", role="member", by=owner(org))
    client.force_login(owner(org).user)
    assert b"late@example.com" in client.get(reverse("portal:members")).content
    TestClock.objects.filter(pk=org.test_clock_id).update(frozen_time=JAN10 + timedelta(days=30))
    assert b"late@example.com" not in client.get(reverse("portal:members")).content
    client.logout()
    assert b"Invitation not valid" in client.get(reverse("portal:accept-invitation", args=[token])).content
