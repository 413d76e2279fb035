"""PostgreSQL restarts while the API is under load: requests during the outage get a clean 503
{"error": {"code": "unavailable"}}, never a 500 or a dropped connection, and the service recovers by itself.

gunicorn reaches PostgreSQL through a TCP proxy that the test cuts (every connection reset, new ones refused)
for a few seconds and restores; the real server is never touched."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
from django.db import connection

from bench import soak
from tests.celery_worker import wait_for
from tests.resilience.processes import app_env, gunicorn
from tests.resilience.tcp_proxy import tcp_proxy

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
OUTAGE_SECONDS = 4


def test_a_postgres_restart_under_load_gets_clean_503s_and_recovers_by_itself(tmp_path):
    orgs, cookie = soak.seed(limits=False)
    team = orgs[:1]  # its events are never refused: every answer is a 2xx, or a 503 during the outage
    db = connection.settings_dict
    traffic, stop = soak.Traffic(), threading.Event()
    with tcp_proxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)) as proxy:
        env = app_env(tmp_path, database_url=f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}")
        with gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=2) as server:
            target = soak.Target(server.url, team, cookie)
            load = threading.Thread(
                target=soak.drive,
                kwargs={"target": target, "seconds": 90, "rate": 40, "traffic": traffic, "stop": stop},
            )
            load.start()
            try:
                time.sleep(3)
                cut_at = time.monotonic()
                proxy.cut()
                time.sleep(OUTAGE_SECONDS)
                proxy.restore()
                restored_at = time.monotonic()

                def recovered() -> bool:
                    with traffic.lock:
                        ok = {kind for at, kind, status, _ in traffic.timeline if at > restored_at and status < 300}
                    return ok == set(soak.KINDS)

                came_back = wait_for(recovered, timeout=30)
                time.sleep(3)  # and it stays up
            finally:
                stop.set()
                load.join()
    log = (tmp_path / "gunicorn.log").read_text()
    assert came_back, log[-5000:]
    answers = Counter(status for _, _, status, _ in traffic.timeline)
    during = Counter(status for at, _, status, _ in traffic.timeline if cut_at < at < restored_at)
    print(f"answers: {dict(answers)}; during the {OUTAGE_SECONDS} s outage: {dict(during)}")
    assert set(answers) <= {200, 201, 503}, (answers, [e for e in traffic.errors if "unavailable" not in e][:5], log)
    assert during[503] >= 10, during  # the outage was felt...
    for _, _, status, body in traffic.timeline:
        if status == 503:  # ...and always answered the same clean way
            assert json.loads(body)["error"]["code"] == "unavailable", body
    last = [status for at, _, status, _ in traffic.timeline if at > traffic.timeline[-1][0] - 2]
    assert last and all(status < 300 for status in last), last
    assert not soak.check_books(team, traffic)  # what was accepted is there, once; ledgers still balance
