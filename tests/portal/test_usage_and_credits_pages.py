import uuid
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts import services as accounts
from invoices.models import Invoice, InvoiceKind
from metering.models import UsageCap
from metering.selectors import credit_balance
from metering.services import UsageInput, usage_record
from tests.factories import add_member, make_org
from tests.subscriptions.helpers import owner

pytestmark = pytest.mark.django_db
JAN10 = datetime(2026, 1, 10, tzinfo=UTC)


@pytest.fixture
def team():
    return make_org(plan="team", clock_at=JAN10)


def record(org, n, meter="tool_calls", **extra):
    org = type(org).objects.select_related("subscription__plan", "test_clock").get(pk=org.pk)
    return usage_record(org=org, events=[UsageInput(key=f"{meter}-{i}", meter=meter, quantity=1, **extra)
                                         for i in range(n)])


def test_usage_page_charts_breaks_down_and_filters_the_log(client, team):
    member = add_member(team)
    accounts.space_create(org=team, name="Research")
    record(team, 3, user=member.user.email, space="research", integration="web-search")
    record(team, 2, meter="ai_tokens", model="gpt-4o", success=False)
    client.force_login(owner(team).user)
    page = client.get(reverse("portal:usage"))
    assert page.status_code == 200
    chart = page.context["chart"]
    assert sum(value for _, value in chart.rows) == 3  # tool calls counted today
    assert b"<svg" in page.content and b"3 calls" in page.content
    by_member = dict(page.context["breakdowns"])["By member"]
    # the member's counted calls first; the failed calls without a member are listed, but count nothing
    assert [(row.label, row.quantity, row.events) for row in by_member] == [(member.user.email, 3, 3), ("—", 0, 2)]
    failed = client.get(reverse("portal:usage"), {"success": "false"})
    assert [e.meter for e in failed.context["page"]] == ["ai_tokens", "ai_tokens"]
    other_org_member = add_member(make_org(name="Other", plan="team"))
    mine = client.get(reverse("portal:usage"), {"member": member.user.email})
    assert mine.context["page"].paginator.count == 3
    bad = client.get(reverse("portal:usage"), {"member": other_org_member.user.email})
    assert bad.status_code == 200 and "member" in bad.context["filters"].errors


def test_quota_bars_and_banners_follow_the_grace_zone(client):
    org = make_org(plan="free", clock_at=JAN10)  # 50,000 API requests a month, 10% grace
    org = type(org).objects.select_related("subscription__plan", "test_clock").get(pk=org.pk)
    usage_record(org=org, events=[UsageInput(key="big", meter="api_requests", quantity=52_000)])
    client.force_login(owner(org).user)
    page = client.get(reverse("portal:overview"))
    assert b"Grace zone" in page.content and b"Over the monthly quota for API requests" in page.content
    usage_record(org=org, events=[UsageInput(key="more", meter="api_requests", quantity=3_000)])
    assert b"Limit reached for API requests" in client.get(reverse("portal:plans")).content


def test_buying_a_top_up_adds_credits_and_a_paid_invoice_once_however_often_the_page_is_submitted(client, team):
    client.force_login(owner(team).user)
    before = credit_balance(org=team).topups
    page = client.get(reverse("portal:credits"))
    form = {"pack": "credits-1k", "request_key": page.context["topup_form"]["request_key"].value()}
    for _ in range(2):  # a double click, or the page submitted again
        response = client.post(reverse("portal:buy-topup"), form, follow=True)
        assert response.status_code == 200 and b"1,000 credits added" in response.content
    assert credit_balance(org=team).topups == before + 1_000
    assert Invoice.objects.get(org=team, kind=InvoiceKind.TOPUP).status == "paid"
    client.post(reverse("portal:buy-topup"), {**form, "request_key": str(uuid.uuid4())})  # a new page buys again
    assert credit_balance(org=team).topups == before + 2_000


def test_only_the_owner_buys_top_ups(client, team):
    admin = add_member(team, role="admin")
    client.force_login(admin.user)
    client.post(reverse("portal:buy-topup"), {"pack": "credits-1k", "request_key": str(uuid.uuid4())})
    assert not Invoice.objects.filter(org=team, kind=InvoiceKind.TOPUP).exists()


def test_caps_are_set_for_this_orgs_members_only(client, team):
    member = add_member(team)
    stranger = add_member(make_org(name="Other", plan="team"))
    client.force_login(owner(team).user)
    cap = {"member_email": member.user.email, "meter": "tool_calls"}
    client.post(reverse("portal:cap-set"), {**cap, "limit": "5"})
    assert UsageCap.objects.get(org=team).limit == 5
    client.post(reverse("portal:cap-set"), {**cap, "member_email": stranger.user.email, "limit": "5"})
    client.post(reverse("portal:cap-set"), {**cap, "limit": "-3"})
    client.post(reverse("portal:cap-set"), {**cap, "space": "research", "limit": "9"})  # both: refused
    assert list(UsageCap.objects.values_list("org_id", "limit")) == [(team.pk, 5)]
    client.post(reverse("portal:cap-set"), {**cap, "limit": ""})
    assert not UsageCap.objects.exists()


def test_credit_alert_threshold_form(client, team):
    client.force_login(owner(team).user)
    client.post(reverse("portal:credit-alert"), {"threshold_pct": "35"})
    team.refresh_from_db()
    assert team.credit_alert_threshold_pct == 35
    client.post(reverse("portal:credit-alert"), {"threshold_pct": "500"})
    team.refresh_from_db()
    assert team.credit_alert_threshold_pct == 35


def test_the_ledger_names_each_debits_line_item_and_what_was_priced(client, team):
    record(team, 1, meter="ai_tokens", model="gpt-4o")
    record(team, 1, meter="storage")
    client.force_login(owner(team).user)
    html = client.get(reverse("portal:credits")).content.decode()
    assert "Usage · LLM cost (gpt-4o)" in html and "Usage · Storage</td>" in html
    assert "(*)" not in html and "· llm" not in html
