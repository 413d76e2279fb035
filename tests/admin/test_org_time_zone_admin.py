"""The organizations list's "Trial ends within 7 days" filter reads each org's own clock."""

from datetime import timedelta

import pytest

from accounts.models import Organization
from billing_portal.core import clock
from billing_portal.payments.models import TestCard
from tests.admin.conftest import changelist_url
from tests.factories import make_org

pytestmark = pytest.mark.django_db


def test_trial_ending_filter_reads_each_orgs_own_clock(client, login):
    """Every billing rule reads `now(org=...)` (core/clock.py); the jobs select due rows on each org's clock. The
    admin filter compares trial ends with real time instead: an org whose test clock is at the first day of its
    14-day trial is listed as ending within 7 days, and one at the last day of its trial on a future clock is not."""
    real_now = clock.now()
    make_org(name="Day one", plan="pro", trial=True, card=TestCard.SUCCEEDS,
                        clock_at=real_now - timedelta(days=60))  # 14 days left on its clock
    ending = make_org(name="Day thirteen", plan="pro", trial=True, card=TestCard.SUCCEEDS,
                      clock_at=real_now + timedelta(days=60))
    ending.test_clock.frozen_time = ending.subscription.trial_end - timedelta(days=1)  # 1 day left on its clock
    ending.test_clock.save()
    login(superuser=True)
    listed = client.get(changelist_url(Organization), {"billing": "trial_ending"}).context["cl"].result_list
    assert {org.name for org in listed} == {"Day thirteen"}
