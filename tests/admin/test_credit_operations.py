"""Credit grants and revokes (capped for support) and per-user credit limits, through the org admin."""

import pytest

from metering.models import CreditEntry, EntryKind, UsageCap
from metering.selectors import credit_balance
from tests.admin.conftest import last_entry, operation_url
from tests.factories import add_member, make_org

pytestmark = pytest.mark.django_db


def test_support_grants_a_small_amount_of_credits(client, login):
    org = make_org(plan="team")
    before = credit_balance(org=org).total
    user = login("metering.grant_credits")
    page = client.get(operation_url(org, "grant-credits")).content.decode()
    assert f"{before:,}" in page  # the balance is shown above the form

    response = client.post(operation_url(org, "grant-credits"), {"credits": 1_000, "reason": "Outage on May 3"})
    assert response.status_code == 302
    assert credit_balance(org=org).total == before + 1_000
    grant = CreditEntry.objects.get(org=org, kind=EntryKind.STAFF_GRANT)
    assert (grant.topup_delta, grant.reason, grant.actor_label) == (1_000, "Outage on May 3", user.email)
    entry = last_entry("credits.granted")
    assert (entry.org, entry.actor_kind, entry.actor_user, entry.after, entry.reason) == (
        org,
        "staff",
        user,
        {"credits": 1_000},
        "Outage on May 3",
    )


def test_support_cannot_grant_more_than_the_support_limit(client, login):
    org = make_org(plan="team")
    before = credit_balance(org=org).total
    login("metering.grant_credits")
    response = client.post(operation_url(org, "grant-credits"), {"credits": 1_001, "reason": "Goodwill"})
    assert response.status_code == 200 and "up to 1,000 credits at a time" in response.content.decode()
    assert credit_balance(org=org).total == before
    assert not CreditEntry.objects.filter(org=org, kind=EntryKind.STAFF_GRANT).exists()


def test_finance_grants_large_amounts(client, login):
    org = make_org(plan="team")
    before = credit_balance(org=org).total
    login("metering.grant_credits", "metering.grant_large_credits")
    assert client.post(operation_url(org, "grant-credits"), {"credits": 50_000, "reason": "Deal"}).status_code == 302
    assert credit_balance(org=org).total == before + 50_000


def test_revoking_takes_credits_back_and_refuses_more_than_left(client, login):
    org = make_org(plan="team")
    before = credit_balance(org=org).total
    user = login("metering.grant_credits", "metering.grant_large_credits")
    assert (
        client.post(operation_url(org, "revoke-credits"), {"credits": 300, "reason": "Granted twice"}).status_code
        == 302
    )
    assert credit_balance(org=org).total == before - 300
    entry = last_entry("credits.revoked")
    assert (entry.actor_user, entry.after, entry.reason) == (user, {"credits": 300}, "Granted twice")
    too_many = client.post(operation_url(org, "revoke-credits"), {"credits": before, "reason": "x"})
    assert too_many.status_code == 200 and "credits are left to revoke" in too_many.content.decode()
    assert credit_balance(org=org).total == before - 300


def test_per_member_plans_need_the_member(client, login):
    org = make_org(plan="pro")
    member = add_member(org)
    login("metering.grant_credits")
    missing = client.post(operation_url(org, "grant-credits"), {"credits": 10, "reason": "x"})
    assert missing.status_code == 200 and "choose the member" in missing.content.decode()
    stranger = client.post(
        operation_url(org, "grant-credits"), {"credits": 10, "reason": "x", "member": "nobody@example.com"}
    )
    assert "No active member" in stranger.content.decode()
    ok = client.post(operation_url(org, "grant-credits"), {"credits": 10, "reason": "x", "member": member.user.email})
    assert ok.status_code == 302
    assert CreditEntry.objects.get(kind=EntryKind.STAFF_GRANT).member == member


@pytest.mark.parametrize("name", ["grant-credits", "revoke-credits", "credit-limit"])
def test_staff_without_credit_permissions_cannot_move_credits(client, login, name):
    org = make_org(plan="team")
    before = credit_balance(org=org).total
    login("subscriptions.extend_trial", "accounts.view_organization")
    assert client.post(operation_url(org, name), {"credits": 5, "reason": "x", "member": "a@b.c"}).status_code == 403
    assert credit_balance(org=org).total == before


def test_finance_sets_and_removes_a_per_user_credit_limit(client, login):
    org = make_org(plan="team")
    member = add_member(org)
    user = login("metering.set_credit_limits")
    assert (
        client.post(operation_url(org, "credit-limit"), {"member": member.user.email, "limit": 300}).status_code == 302
    )
    cap = UsageCap.objects.get(org=org, member=member)
    assert (cap.limit, cap.set_by) == (300, user)
    entry = last_entry("usage_cap.set")
    assert (entry.actor_kind, entry.actor_user, entry.after["limit"]) == ("staff", user, 300)

    assert (
        client.post(operation_url(org, "credit-limit"), {"member": member.user.email, "limit": ""}).status_code == 302
    )
    assert not UsageCap.objects.filter(org=org).exists()
    assert last_entry("usage_cap.removed").actor_user == user


def test_credit_limits_need_a_plan_with_custom_limits(client, login):
    org = make_org(plan="pro")
    member = add_member(org)
    login("metering.set_credit_limits")
    response = client.post(operation_url(org, "credit-limit"), {"member": member.user.email, "limit": 10})
    assert response.status_code == 200 and "need a plan with custom limits" in response.content.decode()
    assert not UsageCap.objects.exists()
