"""The portal pages of an org outside UTC show its own days, in step with their local-day charts."""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from metering.services import UsageInput, usage_record
from tests.factories import make_org
from tests.metering.helpers import move_clock
from tests.subscriptions.helpers import owner

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
MAR31_0800_TOKYO = datetime(2026, 3, 31, 8, tzinfo=TOKYO)  # Mar 30, 23:00 UTC


@pytest.fixture
def tokyo():
    return make_org(plan="team", timezone="Asia/Tokyo", currency="JPY", clock_at=MAR31_0800_TOKYO.astimezone(UTC))


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_overview_shows_the_period_in_the_orgs_own_days(client, tokyo):
    client.force_login(owner(tokyo).user)
    page = text_of(client.get(reverse("portal:overview")))
    period = re.search(r"Current period (\w+ \d+, \d+) – (\w+ \d+, \d+)", page).groups()
    # Mar 31 - Apr 30 in Tokyo, where the anchor on the 31st renews on Apr 30 (README, "Periods").
    assert period == ("Mar 31, 2026", "Apr 30, 2026")


def test_usage_page_heading_names_the_same_days_its_chart_shows(client, tokyo):
    client.force_login(owner(tokyo).user)
    response = client.get(reverse("portal:usage"))
    chart_days = [day for day, _ in response.context["chart"].rows]
    heading = re.search(r"<h1>Usage <span class=\"muted\">([^<]+)</span>", response.content.decode()).group(1)
    shown = f"{chart_days[0]:%b %-d} – {chart_days[-1]:%b %-d, %Y}"
    assert (chart_days[0].isoformat(), chart_days[-1].isoformat()) == ("2026-03-31", "2026-04-30")
    assert heading == "Mar 31 – Apr 30, 2026", f"heading {heading!r}, chart {shown!r}"


def test_filtering_the_call_log_to_one_day_shows_the_calls_the_chart_counts_on_that_day(client, tokyo):
    org = move_clock(tokyo, datetime(2026, 3, 31, 12, tzinfo=TOKYO))
    # 08:30 on Mar 31 in Tokyo (23:30 UTC on Mar 30): the chart counts it on Mar 31.
    [answer] = usage_record(org=org, events=[UsageInput(key="morning", meter="tool_calls", quantity=1,
                                                        timestamp=datetime(2026, 3, 31, 8, 30, tzinfo=TOKYO))])
    assert answer.counted
    client.force_login(owner(org).user)
    page = client.get(reverse("portal:usage"))
    assert dict(page.context["chart"].rows)[datetime(2026, 3, 31).date()] == 1
    same_day = client.get(reverse("portal:usage"), {"since": "2026-03-31", "until": "2026-04-01"})
    assert [event.key for event in same_day.context["page"]] == ["morning"]
