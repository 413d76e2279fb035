from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from billing_portal.subscriptions.periods import boundary, period_containing, usage_window

NY = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def boundaries(anchor, interval, tz, count):
    return [boundary(anchor, interval, tz, n).astimezone(tz).date().isoformat() for n in range(count)]


@pytest.mark.parametrize(
    ("anchor_day", "expected"),
    [
        (29, ["2027-01-29", "2027-02-28", "2027-03-29", "2027-04-29"]),
        (30, ["2027-01-30", "2027-02-28", "2027-03-30", "2027-04-30"]),
        (31, ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30"]),
    ],
)
def test_monthly_anchor_in_a_common_year(anchor_day, expected):
    anchor = utc(2027, 1, anchor_day, 9, 30)
    assert boundaries(anchor, "month", UTC, len(expected)) == expected


def test_monthly_anchor_on_the_31st_in_a_leap_year():
    anchor = utc(2028, 1, 31, 12)
    assert boundaries(anchor, "month", UTC, 5) == ["2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30", "2028-05-31"]


def test_each_boundary_comes_from_the_anchor_not_the_previous_period():
    anchor = utc(2027, 1, 31)
    feb = period_containing(anchor, "month", UTC, utc(2027, 2, 15))
    mar = period_containing(anchor, "month", UTC, utc(2027, 3, 15))
    assert feb.end == utc(2027, 2, 28) == mar.start - (mar.start - feb.end)
    assert mar.end == utc(2027, 3, 31)  # not Mar 28


def test_yearly_anchor_on_feb_29():
    anchor = utc(2028, 2, 29, 8)
    assert boundaries(anchor, "year", UTC, 6) == [
        "2028-02-29", "2029-02-28", "2030-02-28", "2031-02-28", "2032-02-29", "2033-02-28",
    ]


def test_boundaries_are_in_the_org_time_zone():
    # 23:30 on Jan 31 in New York is already Feb 1 in UTC: the org's calendar decides the day.
    anchor = datetime(2027, 1, 31, 23, 30, tzinfo=NY)
    period = period_containing(anchor, "month", NY, utc(2027, 2, 10))
    assert period.start == anchor.astimezone(UTC)
    assert period.end.astimezone(NY) == datetime(2027, 2, 28, 23, 30, tzinfo=NY)
    # Across the DST change the local time of day stays 23:30; the UTC hour moves.
    april = period_containing(anchor, "month", NY, utc(2027, 4, 15))
    assert april.start.astimezone(NY).strftime("%m-%d %H:%M") == "03-31 23:30"
    assert april.start.astimezone(UTC).hour == 3  # EDT is UTC-4 (January's boundary was 04:30 UTC)


def test_tokyo_anchor_on_the_31st():
    anchor = datetime(2027, 3, 31, 0, 15, tzinfo=TOKYO)  # Mar 30 in UTC
    assert boundaries(anchor, "month", TOKYO, 3) == ["2027-03-31", "2027-04-30", "2027-05-31"]


def test_period_lookup_at_exact_boundaries():
    anchor = utc(2027, 1, 31)
    period = period_containing(anchor, "month", UTC, utc(2027, 2, 28))
    assert (period.start, period.end) == (utc(2027, 2, 28), utc(2027, 3, 31))
    just_before = period_containing(anchor, "month", UTC, utc(2027, 2, 27, 23, 59, 59))
    assert (just_before.start, just_before.end) == (utc(2027, 1, 31), utc(2027, 2, 28))


def test_far_future_periods_and_yearly_windows_are_monthly():
    anchor = utc(2026, 5, 31)
    assert period_containing(anchor, "month", UTC, utc(2031, 9, 30, 12)).start == utc(2031, 9, 30)
    window = usage_window(anchor, UTC, utc(2026, 9, 15))
    assert (window.start, window.end) == (utc(2026, 8, 31), utc(2026, 9, 30))
