from datetime import timedelta

import pytest
from django.urls import reverse

from metering.errors import ConcurrencyLimitReached
from metering.services import session_end, session_open, session_quota
from tests.metering.helpers import START, api_client, metered_org, move_clock

pytestmark = pytest.mark.django_db


def test_slots_up_to_the_plan_limit_then_429():
    org = metered_org("free")  # 3 concurrent sessions
    client = api_client(org)
    opened = [client.post(reverse("sessions")) for _ in range(3)]
    assert [r.status_code for r in opened] == [201] * 3
    assert opened[0].json()["status"] == "active"
    refused = client.post(reverse("sessions"))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "concurrency_limit_reached"
    assert client.get(reverse("sessions-quota")).json() == {"limit": 3, "active": 3, "remaining": 0}


def test_the_429_says_when_the_first_slot_times_out():
    org = metered_org("free")
    client = api_client(org)
    client.post(reverse("sessions"))
    org = move_clock(org, START + timedelta(minutes=10))
    client.post(reverse("sessions"))
    client.post(reverse("sessions"))
    org = move_clock(org, START + timedelta(minutes=25, seconds=30))
    refused = client.post(reverse("sessions"))
    assert refused.status_code == 429
    assert refused["Retry-After"] == "270"  # the first session, opened at START, times out at minute 30
    org = move_clock(org, START + timedelta(minutes=25, seconds=30) + timedelta(seconds=270))
    assert client.post(reverse("sessions")).status_code == 201


def test_ending_frees_the_slot_and_is_idempotent():
    org = metered_org("free")
    client = api_client(org)
    ids = [client.post(reverse("sessions")).json()["id"] for _ in range(3)]
    for _ in range(2):
        ended = client.post(reverse("session-end", args=[ids[0]]))
        assert ended.status_code == 200
        assert ended.json() == {"id": ids[0], "status": "ended"}
    assert client.get(reverse("sessions-quota")).json()["active"] == 2
    assert client.post(reverse("sessions")).status_code == 201
    assert (
        client.post(reverse("session-end", args=["00000000-0000-0000-0000-000000000000"])).status_code == 404
    )


def test_a_session_not_ended_frees_itself_after_the_timeout():
    org = metered_org("free")
    sessions = [session_open(org=org) for _ in range(3)]
    with pytest.raises(ConcurrencyLimitReached):
        session_open(org=org)
    org = move_clock(org, START + timedelta(minutes=31))
    assert session_quota(org=org).active == 0
    assert session_end(org=org, session_id=sessions[0].pk).status(START + timedelta(minutes=31)) == "expired"
    session_open(org=org)


def test_test_key_sessions_do_not_take_live_slots():
    org = metered_org("free")
    for _ in range(3):
        session_open(org=org)
    session_open(org=org, test_mode=True)
    assert session_quota(org=org, test_mode=True).active == 1
    assert session_quota(org=org).active == 3


@pytest.mark.parametrize(("opened_in_test_mode", "ended_with"), [(False, "test"), (True, "live")])
def test_a_key_cannot_end_the_other_modes_sessions(opened_in_test_mode, ended_with):
    org = metered_org("free")
    session = session_open(org=org, test_mode=opened_in_test_mode)
    response = api_client(org, kind=ended_with).post(reverse("session-end", args=[session.pk]))
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert session_quota(org=org, test_mode=opened_in_test_mode).active == 1
