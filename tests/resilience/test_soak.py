"""The soak's short form (bench/soak.py): mixed traffic for ~25 s against gunicorn, PostgreSQL and a Celery
worker, then the books: every accepted event counted once, ledgers equal balances, no quota beyond its grace,
zero 5xx, and no process's memory growing."""

from __future__ import annotations

import pytest

from bench import soak

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_short_soak_keeps_the_books_balanced_with_no_5xx_and_flat_memory(tmp_path):
    orgs, cookie = soak.seed()
    with soak.stack(tmp_path, tmp_path / "processes.log", workers=2) as (url, pids):
        report = soak.soak(soak.Target(url, orgs, cookie), pids, seconds=22, rate=30)
    print("\n".join(report.lines()))  # shown with -s, and by pytest when the test fails
    assert not report.problems, (tmp_path / "processes.log").read_text()[-5000:]
    traffic = report.traffic
    assert set(traffic.by_kind) == {"usage", "quota", "session", "page"}
    assert traffic.requests >= 0.8 * 30 * report.seconds  # the rate was held
    assert len(traffic.accepted) > 100 and traffic.replays  # events were counted, and repeats answered as replays
    assert len(report.rss_start) >= 4  # gunicorn's master and two workers, and the Celery worker
