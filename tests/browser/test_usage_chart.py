"""The usage page's daily chart, as Chromium lays it out: each bar as tall as its day's count, to scale."""

from datetime import timedelta

import pytest

from accounts.models import User
from tests.browser.conftest import sign_in
from tests.metering.helpers import START, metered_org, move_clock, record

PASSWORD = "browser-pass-1"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_daily_bars_are_drawn_to_scale_and_empty_days_have_no_bar(page):
    owner = User.objects.create_user(email="chart@browser.test", password=PASSWORD)
    org = metered_org(name="Chart Co", owner=owner)
    record(org, "tool_calls", 8)
    org = move_clock(org, START + timedelta(days=1))
    record(org, "tool_calls", 2)
    sign_in(page, "chart@browser.test", PASSWORD)
    page.goto("/billing/usage/")
    heights = [rect.bounding_box()["height"] for rect in page.locator("svg rect.day-bar").all()]
    assert len(heights) >= 28  # one bar per day of the window
    first, second, *rest = heights
    assert first > 100 and first == pytest.approx(4 * second, rel=0.02)  # 8 calls, then 2
    assert all(height == 0 for height in rest)
