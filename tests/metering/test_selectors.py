from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import space_create
from metering import selectors
from tests.factories import add_member
from tests.metering.helpers import START, metered_org, record

pytestmark = pytest.mark.django_db


def busy_org(members: int):
    org = metered_org("team")
    space = space_create(org=org, name="Lab")
    people = [add_member(org) for _ in range(members)]
    for n, member in enumerate(people):
        record(org, "ai_tokens", 1_000 * (n + 1), user=member.user.email, model="gpt-4o", agent="writer")
        record(org, "tool_calls", 2, user=member.user.email, space=space.slug, integration="web-search")
        record(org, "tool_calls", 1, user=member.user.email, success=False)
    return org, people, space


def test_breakdowns_come_from_rollups_with_exact_totals():
    org, people, space = busy_org(3)
    by_member = selectors.usage_breakdown(org=org, by="member", meter="ai_tokens")
    assert [(row.label, row.quantity) for row in by_member] == [
        (people[2].user.email, 3_000),
        (people[1].user.email, 2_000),
        (people[0].user.email, 1_000),
    ]
    by_line = {(row.key, row.label): row.credits for row in selectors.usage_breakdown(org=org, by="line_item")}
    assert by_line == {("llm", "LLM cost"): 5 + 10 + 15, ("tool", "Tool calls"): 3 * 2 * 2, ("", "—"): 0}
    by_space = selectors.usage_breakdown(org=org, by="space", meter="tool_calls")
    assert [(row.label, row.quantity) for row in by_space] == [("Lab", 6), ("—", 0)]
    series = selectors.usage_daily_series(org=org, meter="tool_calls")
    assert [
        (row["day"].isoformat(), row["quantity"], row["events"], row["failed_events"]) for row in series
    ] == [("2026-03-10", 6, 6, 3)]


def test_quota_usage_and_member_usage_read_the_exact_counters():
    org, people, _ = busy_org(2)
    usage = {row.meter: row for row in selectors.quota_usage(org=org)}
    assert (usage["ai_tokens"].used, usage["ai_tokens"].quota, usage["ai_tokens"].state) == (
        3_000,
        50_000_000,
        "ok",
    )
    assert usage["tool_calls"].hard_limit == 120_000
    per_member = selectors.usage_per_member(org=org)
    assert per_member[people[1].pk] == {"ai_tokens": 2_000, "tool_calls": 2, "credits": 10 + 4}


def test_the_call_log_filters():
    org, people, space = busy_org(2)
    log = selectors.usage_log(org=org, member=people[0], success=False)
    assert [(e.meter, e.success) for e in log] == [("tool_calls", False)]
    assert selectors.usage_log(org=org, space=space).count() == 2
    record(org, "api_requests", 1, timestamp=START - timedelta(days=3))
    assert selectors.usage_log(org=org, since=START - timedelta(hours=1)).count() == 6
    assert selectors.usage_log(org=org, until=START - timedelta(days=1)).get().meter == "api_requests"


def queries_for_every_selector(org):
    with CaptureQueriesContext(connection) as queries:
        selectors.quota_usage(org=org)
        selectors.usage_per_member(org=org)
        selectors.credit_balance(org=org)
        for by in selectors.BREAKDOWNS:
            selectors.usage_breakdown(org=org, by=by)
        selectors.usage_daily_series(org=org)
        list(selectors.credit_ledger(org=org).object_list)
        list(selectors.usage_log(org=org)[:50])
    return len(queries)


def test_selectors_cost_the_same_queries_whatever_the_data():
    small, _, _ = busy_org(1)
    large, _, _ = busy_org(6)
    assert queries_for_every_selector(small) == queries_for_every_selector(large)
