"""Edges of recording usage: ids per key mode, the batch's size, meters added mid-window, members who left."""

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import Membership, Role
from accounts.services import membership_remove
from billing_portal.catalog.models import Meter
from metering.models import CreditEntry, CreditPool, EntryKind, UsageCounter, UsageEvent
from metering.selectors import credit_balance
from metering.services import credits_cycle_reset
from tests.factories import add_member
from tests.metering.helpers import ACTOR, START, api_client, metered_org, move_clock, reload

pytestmark = pytest.mark.django_db
EVENTS, BATCH = reverse("usage-events"), reverse("usage-events-batch")


def used(org, meter):
    return UsageCounter.objects.get(org=org, meter=meter, subject="org", window_start=START).used


def test_test_keys_and_live_keys_have_their_own_ids():
    org = metered_org()
    event = {"id": "job-1", "meter": "tool_calls", "quantity": 5}
    assert api_client(org, kind="test").post(EVENTS, event, format="json").status_code == 201
    live = api_client(org).post(EVENTS, event, format="json")  # staging and production share an id scheme
    assert (live.status_code, live.json()["counted"], live.json()["used"]) == (201, True, 5)
    again = api_client(org, kind="test").post(EVENTS, event, format="json")
    assert (again.status_code, again.json()["counted"]) == (200, False)  # the test call's own answer
    assert used(org, "tool_calls") == 5
    assert sorted(UsageEvent.objects.filter(org=org).values_list("test_mode", flat=True)) == [False, True]


def test_a_batch_over_the_limit_is_refused_whatever_its_events_look_like():
    org = metered_org()
    events = [{"id": str(n), "meter": "api_requests", "quantity": 1} for n in range(1_000)]
    events.append({"id": "bad", "meter": "api_requests", "quantity": "x"})  # malformed: used to be set aside first
    response = api_client(org).post(BATCH, {"events": events}, format="json")
    assert (response.status_code, response.json()["error"]["fields"]) == (400, {"events": ["1 to 1,000 events."]})
    assert not UsageEvent.objects.filter(org=org).exists()


def test_a_meter_staff_add_mid_window_records_at_once():
    org = metered_org()
    client = api_client(org)
    assert client.post(EVENTS, {"id": "x0", "meter": "tool_calls", "quantity": 1}, format="json").status_code == 201
    Meter.objects.create(code="images", name="Images", unit="image")
    response = client.post(EVENTS, {"id": "x1", "meter": "images", "quantity": 2}, format="json")
    assert (response.status_code, response.json()["used"], response.json()["limit"]) == (201, 2, None)
    assert used(org, "images") == 2


def test_a_member_who_left_gets_no_more_allotment_and_their_pool_leaves_the_balance():
    org = metered_org("pro")  # credits per member: 5,000 each
    member = add_member(org)
    event = {"id": "m", "meter": "tool_calls", "quantity": 1, "user": member.user.email}
    assert api_client(org).post(EVENTS, event, format="json").status_code == 201
    membership_remove(membership=member, by=Membership.objects.get(org=org, role=Role.OWNER))
    assert credit_balance(org=reload(org)).allotment == 5_000  # the owner's, not the one who left
    org = move_clock(org, START + timedelta(days=31))
    credits_cycle_reset(org=org, actor=ACTOR)
    assert CreditPool.objects.get(org=org, member=member).allotment_balance == 0
    assert api_client(org).get(reverse("credits")).json()["balance"] == 5_000


def test_leaving_and_coming_back_within_a_window_grants_no_second_allotment():
    org = metered_org("pro")  # credits per member: 5,000 each
    first = add_member(org)
    person = first.user.email
    event = {"id": "a", "meter": "tool_calls", "quantity": 1_200, "user": person}  # web-search costs 1 credit each
    assert api_client(org).post(EVENTS, event, format="json").status_code == 201
    membership_remove(membership=first, by=Membership.objects.get(org=org, role=Role.OWNER))
    again = add_member(org, user=first.user)  # removed and added back: the seat nets to zero on the day
    event = {"id": "b", "meter": "tool_calls", "quantity": 1, "user": person}
    assert api_client(org).post(EVENTS, event, format="json").status_code == 201
    granted = CreditEntry.objects.filter(member__user=first.user, kind=EntryKind.ALLOTMENT_GRANT)
    assert sum(granted.values_list("allotment_delta", flat=True)) == 5_000 + (5_000 - 1_200)  # what was left moved
    assert CreditPool.objects.get(member=first).allotment_balance == 0
    assert CreditPool.objects.get(member=again).allotment_balance == 5_000 - 1_200 - 1
