from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.models import Organization
from billing_portal.core import clock
from billing_portal.core.models import TestClock
from billing_portal.subscriptions.models import Subscription
from tests.factories import make_org

pytestmark = pytest.mark.django_db

FROZEN = datetime(2025, 6, 1, 12, tzinfo=UTC)


def test_an_org_with_a_test_clock_reads_its_frozen_time():
    org = make_org(clock_at=FROZEN)
    plain = make_org(name="Plain")
    with time_machine.travel(datetime(2030, 1, 1, tzinfo=UTC)):
        assert clock.now(org=org) == FROZEN
        assert clock.now(org=plain) == datetime(2030, 1, 1, tzinfo=UTC)
    assert org.created_at == FROZEN
    assert org.subscription.current_period_start == FROZEN


def test_due_rows_use_each_orgs_own_clock():
    clocked = make_org(name="Clocked", clock_at=FROZEN)
    plain = make_org(name="Plain")
    real_now = clock.now()
    Subscription.objects.update(
        current_period_start=FROZEN - timedelta(days=30), current_period_end=FROZEN + timedelta(days=1)
    )
    due = Subscription.objects.filter(clock.due_q("current_period_end", at=real_now))
    assert list(due.values_list("org__slug", flat=True)) == [plain.slug]
    TestClock.objects.filter(pk=clocked.test_clock_id).update(frozen_time=FROZEN + timedelta(days=2))
    assert set(due.values_list("org__slug", flat=True)) == {plain.slug, clocked.slug}
    assert Organization.objects.count() == 2
