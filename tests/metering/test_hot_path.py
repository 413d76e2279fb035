"""The hot path's statements: what a refused event leaves, many rows at once, and who commits."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import space_create
from billing_portal.api.keys import api_key_create, api_key_revoke
from billing_portal.core.errors import BillingLimitReached
from metering.models import CreditEntry, CreditPool, UsageCounter, UsageEvent, UsageRollup
from metering.services import UsageAnswer, UsageInput, usage_record, usage_sql
from tests.factories import add_member
from tests.metering.helpers import ACTOR, START, api_client, metered_org, record, reload

BATCH = reverse("usage-events-batch")
EVENTS = reverse("usage-events")


def used(org, meter="tool_calls", subject="org"):
    return UsageCounter.objects.get(org=org, meter=meter, subject=subject).used


@pytest.mark.django_db
def test_refused_events_leave_no_event_debit_count_or_rollup():
    org = metered_org("team")  # 9,000 credits; a tool call costs 1 credit
    events = [
        {"id": "a", "meter": "tool_calls", "quantity": 100},
        {"id": "b", "meter": "tool_calls", "quantity": 9_000},  # more credits than are left: refused
        {"id": "c", "meter": "tool_calls", "quantity": 5, "user": "stranger@example.com"},  # unknown user
        {"id": "d", "meter": "tool_calls", "quantity": 50},
    ]
    results = api_client(org).post(BATCH, {"events": events}, format="json").json()["results"]
    assert [r["status"] for r in results] == [201, 403, 400, 201]
    assert [r.get("used") for r in results] == [100, None, None, 150]
    assert set(UsageEvent.objects.values_list("key", flat=True)) == {"a", "d"}
    debits = CreditEntry.objects.filter(kind="debit").order_by("pk")
    assert [(d.usage_event.key, d.amount) for d in debits] == [("a", -100), ("d", -50)]
    assert CreditPool.objects.get(org=org).balance == 9_000 - 150
    assert used(org) == 150
    rollup = UsageRollup.objects.get(org=org)
    assert (rollup.events, rollup.quantity, rollup.credits) == (2, 150, 150)
    again = api_client(org).post(BATCH, {"events": events}, format="json").json()["results"]
    assert [r["status"] for r in again] == [200, 403, 400, 200]  # refused keys were never kept
    assert used(org) == 150


AWKWARD = ['it\'s "quoted"', "back\\slash", "ünïcødé ✓", "{a,b}", "NULL", "", "a, (b)", "tab\there"]


@pytest.mark.django_db
def test_many_events_at_once_keep_every_value_exactly():
    org = metered_org("team")
    member = add_member(org)
    space_create(org=org, name="Lab")
    events = [
        UsageInput(
            key=f"k{n}-{AWKWARD[n % len(AWKWARD)]}",
            meter="ai_tokens" if n % 2 else "tool_calls",
            quantity=10 + n,
            user=member.user.email.upper() if n % 3 == 0 else "",
            space="lab" if n % 4 == 0 else "",
            model=AWKWARD[n % len(AWKWARD)],
            agent=AWKWARD[(n + 1) % len(AWKWARD)],
            integration=AWKWARD[(n + 2) % len(AWKWARD)],
            success=n % 5 != 0,
            byok=n % 7 == 0,
            timestamp=START - timedelta(days=n % 3, minutes=n),
        )
        for n in range(30)
    ]
    outcomes = usage_record(org=reload(org), events=events)
    assert all(isinstance(o, UsageAnswer) and not o.replayed for o in outcomes), outcomes
    stored = {e.key: e for e in UsageEvent.objects.filter(org=org)}
    assert len(stored) == 30
    for sent in events:
        row = stored[sent.key]
        assert (row.meter, row.quantity, row.model, row.agent, row.integration) == (
            sent.meter,
            sent.quantity,
            sent.model,
            sent.agent,
            sent.integration,
        )
        assert (row.success, row.byok, row.counted, row.occurred_at) == (
            sent.success,
            sent.byok,
            sent.success,
            sent.timestamp,
        )
        assert row.member_id == (member.pk if sent.user else None)
        assert (row.space_id is not None) == bool(sent.space)
    assert sum(r.events for r in UsageRollup.objects.filter(org=org)) == 30
    assert sum(r.failed_events for r in UsageRollup.objects.filter(org=org)) == 6
    counted = [e for e in events if e.success]
    assert used(org, "tool_calls") + used(org, "ai_tokens") == sum(e.quantity for e in counted)
    assert used(org, "tool_calls", f"member:{member.pk}") == sum(
        e.quantity for e in counted if e.user and e.meter == "tool_calls"
    )


@pytest.mark.django_db
def test_a_revoked_key_is_refused_on_its_next_call():
    org = metered_org()
    key, secret = api_key_create(
        org=org, name="t", kind="live", scopes=["usage"], actor=ACTOR, may_grant_billing_write=False
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.post(EVENTS, {"id": "r1", "meter": "tool_calls", "quantity": 1}, format="json").status_code == 201
    api_key_revoke(key=key, actor=ACTOR)
    response = client.post(EVENTS, {"id": "r2", "meter": "tool_calls", "quantity": 1}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.django_db
def test_each_key_has_its_own_budget_and_a_refused_call_says_when_to_retry():
    cache.clear()
    org = metered_org()
    first, second = api_client(org), api_client(org)
    rates = {"DEFAULT_THROTTLE_RATES": {"per_key": "3/min"}}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, **rates}):
        statuses = [
            first.post(EVENTS, {"id": f"t{n}", "meter": "tool_calls", "quantity": 1}, format="json").status_code
            for n in range(5)
        ]
        assert statuses == [201, 201, 201, 429, 429]
        refused = first.post(EVENTS, {"id": "t9", "meter": "tool_calls", "quantity": 1}, format="json")
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused["Retry-After"]) <= 120
        assert second.post(EVENTS, {"id": "s1", "meter": "tool_calls", "quantity": 1}, format="json").status_code == 201
    assert used(org) == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_recording_inside_an_outer_transaction_rolls_back_with_it():
    org = metered_org("team")
    record(org, "tool_calls", 2, key="kept")

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        assert isinstance(record(org, "tool_calls", 3, key="undone"), UsageAnswer)
        raise Undo
    assert list(UsageEvent.objects.values_list("key", flat=True)) == ["kept"]
    assert used(org) == 2
    assert CreditPool.objects.get(org=org).balance == 9_000 - 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_request_of_its_own_commits_and_leaves_the_connection_ready():
    org = metered_org("team")
    assert isinstance(record(org, "tool_calls", 2, key="one"), UsageAnswer)
    assert connection.get_autocommit() and not connection.in_atomic_block
    assert connection.connection.info.transaction_status == 0  # idle: nothing left open
    with transaction.atomic():
        assert UsageEvent.objects.get(key="one").used == 2
    assert isinstance(record(org, "tool_calls", 3, key="two"), UsageAnswer)
    assert used(org) == 5


@pytest.mark.django_db
def test_a_quota_refusal_in_the_middle_of_a_batch_keeps_the_events_around_it():
    org = metered_org("free")  # api_requests hard limit 55,000
    outcomes = usage_record(
        org=reload(org),
        events=[
            UsageInput(key="x", meter="api_requests", quantity=54_000),
            UsageInput(key="y", meter="api_requests", quantity=2_000),
            UsageInput(key="z", meter="api_requests", quantity=1_000),
        ],
    )
    assert isinstance(outcomes[1], BillingLimitReached)
    assert [o.used for o in (outcomes[0], outcomes[2])] == [54_000, 55_000]
    assert set(UsageEvent.objects.values_list("key", flat=True)) == {"x", "z"}


@pytest.mark.django_db
def test_a_meter_name_longer_than_any_meter_is_unknown_and_stores_nothing():
    org = metered_org()
    events = [{"id": f"ok{n}", "meter": "tool_calls", "quantity": 1} for n in range(10)]
    events.insert(3, {"id": "long", "meter": "m" * 60, "quantity": 1})
    results = api_client(org).post(BATCH, {"events": events}, format="json").json()["results"]
    assert [r["status"] for r in results] == [201] * 3 + [400] + [201] * 7
    assert results[3]["error"]["fields"] == {"meter": ["Unknown meter."]}
    assert UsageEvent.objects.count() == 10 and not UsageEvent.objects.filter(key="long").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["id", "meter", "user", "space", "model", "agent", "integration"])
def test_a_nul_character_in_any_text_is_a_400_alone_or_among_many(field):
    org = metered_org()
    bad = {"id": "nul", "meter": "tool_calls", "quantity": 1, field: "a\x00b"}
    client = api_client(org)
    response = client.post(EVENTS, bad, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    events = [{"id": f"ok{n}", "meter": "tool_calls", "quantity": 1} for n in range(10)] + [bad]
    results = client.post(BATCH, {"events": events}, format="json").json()["results"]
    assert [r["status"] for r in results] == [201] * 10 + [400]
    assert UsageEvent.objects.count() == 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_write_that_fails_with_its_commit_rolls_back_and_leaves_the_connection_usable():
    org = metered_org("team")
    pool = CreditPool.objects.get(org=org)
    overdrawn = [(pool.pk, -1, 0, None, False)]  # the pool's check constraint refuses it
    with pytest.raises(IntegrityError), transaction.atomic():
        usage_sql.usage_write(
            org_id=org.pk, at=START, counters=[], pools=overdrawn, debits=[], answers=[], deleted=[], rollups=[]
        )
    assert connection.get_autocommit() and not connection.in_atomic_block
    assert CreditPool.objects.get(pk=pool.pk).allotment_balance == 9_000
    assert isinstance(record(org, "tool_calls", 1), UsageAnswer)
    assert CreditPool.objects.get(pk=pool.pk).allotment_balance == 9_000 - 1


@pytest.mark.django_db
def test_the_event_log_follows_deletes_made_through_the_orm_without_database_foreign_keys():
    org = metered_org("team")
    member = add_member(org)
    space = space_create(org=org, name="Lab")
    client = api_client(org)
    assert client.post(EVENTS, {"id": "e", "meter": "tool_calls", "quantity": 1, "user": member.user.email,
                                "space": "lab"}, format="json").status_code == 201
    event = UsageEvent.objects.get(key="e")
    assert (event.member_id, event.space_id, event.api_key_id is not None) == (member.pk, space.pk, True)
    space.delete()
    event.api_key.delete()
    event.refresh_from_db()
    assert (event.member_id, event.space_id, event.api_key_id) == (member.pk, None, None)


@pytest.mark.django_db(transaction=True)
def test_the_ledger_database_checks_its_pool_and_the_orm_protects_the_entries_causes():
    org = metered_org("team")
    member = add_member(org)
    client = api_client(org)
    event = {"id": "e", "meter": "tool_calls", "quantity": 3, "user": member.user.email}
    assert client.post(EVENTS, event, format="json").status_code == 201
    debit = CreditEntry.objects.get(org=org, usage_event__key="e")
    # org and member repeat the pool's, which the database checks.
    assert (debit.org_id, debit.member_id) == (debit.pool.org_id, debit.pool.member_id) == (org.pk, None)
    with pytest.raises(IntegrityError), transaction.atomic():  # checked at COMMIT: a transactional test
        CreditEntry.objects.filter(pk=debit.pk).update(pool_id=debit.pool_id + 10**6)
    for cause in (UsageEvent.objects.get(key="e"), org):
        with pytest.raises(ProtectedError):
            cause.delete()
    assert CreditEntry.objects.get(pk=debit.pk).usage_event.key == "e"
