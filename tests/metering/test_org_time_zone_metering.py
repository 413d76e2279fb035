"""What the usage API says about windows and days, for orgs outside UTC and at a window boundary."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from billing_portal.core.errors import BillingLimitReached
from metering.selectors import current_window
from metering.services import UsageInput, usage_record
from tests.factories import make_org
from tests.metering.helpers import reload

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")


def test_quota_refusal_names_the_day_the_quota_resets_in_the_orgs_time_zone():
    org = make_org(plan="team", timezone="Asia/Tokyo", currency="JPY",
                   clock_at=datetime(2026, 3, 31, 8, tzinfo=TOKYO).astimezone(UTC))
    org = reload(org)
    window = current_window(org)
    assert window.end.astimezone(TOKYO).date().isoformat() == "2026-04-30"  # Apr 30, 08:00 in Tokyo
    [refusal] = usage_record(org=org, events=[UsageInput(key="huge", meter="tool_calls", quantity=10**9)])
    assert isinstance(refusal, BillingLimitReached)
    assert "resets on 2026-04-30" in refusal.message, refusal.message


def test_a_call_that_reads_the_clock_just_before_a_window_boundary_is_not_a_500(monkeypatch):
    """Two calls straddle the boundary T: B (at T + 1 s) opens the new window and rolls the credit pool into it;
    A read the clock at T - 1 s, just before, and reaches the pool lock after B committed. A's pool is then
    ahead of its window: its retry must read the clock again and record in the new window, not fail (a 500)."""
    from types import SimpleNamespace

    from billing_portal.core import clock
    from metering.services import usage as usage_module
    from metering.services.usage import _NotReady

    org = reload(make_org(plan="team"))  # real time, no test clock
    boundary = org.subscription.current_period_end
    with clock.running_at(boundary + timedelta(seconds=1)):
        [b] = usage_record(org=reload(org), events=[UsageInput(key="b", meter="tool_calls", quantity=1)])
        assert b.counted
        # A: its first clock read happened at T - 1 s; any later one reads T + 1 s.
        readings = iter([boundary - timedelta(seconds=1)])
        monkeypatch.setattr(usage_module, "clock", SimpleNamespace(
            now=lambda org=None: next(readings, boundary + timedelta(seconds=1))))
        try:
            [a] = usage_record(org=reload(org), events=[UsageInput(key="a", meter="tool_calls", quantity=1)])
        except _NotReady as error:
            pytest.fail(f"usage_record raised {error!r} (a 500 from the API)")
        assert a.counted
