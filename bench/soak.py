"""Soak: mixed traffic at a steady rate for a bounded time against gunicorn + PostgreSQL + a Celery worker, then
the books are checked.

    .venv/bin/python bench/soak.py [--seconds 120] [--rate 40] [--workers 2]
    (or: make bench-soak)

Traffic, at `rate` requests/s from 8 client threads on a fixed schedule: usage events (half the requests; one in
ten repeats an earlier id, which must be answered as a replay and not counted again; some push an org past its
quota and its grace), quota reads, agent sessions (open, then end) and portal page views by a signed-in owner.
Two orgs: a Team org with a member cap, and a Free org whose small quota and credit allotment run out (so quota
refusals and low-credit alerts, emailed by the worker, happen during the run).

Books, after the traffic stops: every accepted event is stored and counted exactly once (and every replay got
the first answer back); every usage counter equals the sum of its counted events; every credit pool's balances
equal the sum of its ledger; no counter is above its hard limit (quota plus grace); zero 5xx and no connection
errors; the RSS of the gunicorn master and workers and of the Celery worker, sampled after a warm-up and at the
end, with its growth. DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bp_soak) is created and
migrated if needed; REDIS_URL (default database 4 of a Redis on 127.0.0.1:6379) is the cache and the broker.
Exits 1 when a check fails. tests/resilience/test_soak.py runs a short form of the same in CI.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

THREADS = 8
# Growth allowed between the RSS sampled after the warm-up and at the end, per process.
RSS_GROWTH_LIMIT_KB = 30 * 1024
WARM_UP_SECONDS = 3.0
KINDS = ("usage", "usage", "usage", "usage", "usage", "quota", "quota", "session", "page", "page")
PAGES = ("/billing/", "/billing/usage/", "/billing/credits/", "/billing/invoices/")


@dataclass(frozen=True)
class Org:
    pk: int
    api_key: str
    member: str  # a member's email: usage events are attributed to them (and their cap)


@dataclass(frozen=True)
class Target:
    base_url: str
    orgs: tuple[Org, ...]
    session_cookie: str  # a signed-in owner of the first org, for page views


@dataclass
class Traffic:
    by_kind: Counter[str] = field(default_factory=Counter)
    by_status: Counter[tuple[str, int]] = field(default_factory=Counter)  # (kind, status)
    errors: list[str] = field(default_factory=list)  # 5xx answers and connection errors
    accepted: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # event id -> (org, answer)
    replays: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # (monotonic time, kind, status or 0 for a connection error, body of an answer that is not 2xx)
    timeline: list[tuple[float, str, int, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def requests(self) -> int:
        return sum(self.by_status.values())


def seed(*, limits: bool = True) -> tuple[tuple[Org, ...], str]:
    """The two orgs (their window and credit pools open) and a signed-in owner's session cookie of the first.

    Without `limits`, the Team org has no cap and credits to spare: none of its events is refused."""
    from django.test import Client

    from accounts.models import Membership, Role
    from billing_portal.api.keys import api_key_create
    from billing_portal.audit.services import Actor
    from metering.services import cap_set, credits_cycle_reset, credits_grant
    from tests.factories import add_member, make_org

    actor = Actor.system("soak")
    orgs = []
    for plan, cap in (("team", 3_000), ("free", None)):
        org = make_org(name=f"Soak {plan} {uuid.uuid4().hex[:6]}", plan=plan)
        credits_cycle_reset(org=org, actor=actor)
        owner = Membership.objects.get(org=org, role=Role.OWNER)
        member = add_member(org) if plan == "team" else owner
        if cap is not None and limits:
            cap_set(org=org, meter="tool_calls", limit=cap, by=owner, member=member)
        elif cap is not None:
            credits_grant(org=org, credits=10**12, reason="soak without limits", actor=actor)
        _, secret = api_key_create(
            org=org, name="soak", kind="live", scopes=["usage"], actor=actor, may_grant_billing_write=False
        )
        orgs.append(Org(org.pk, secret, member.user.email))
    client = Client()
    client.force_login(Membership.objects.get(org_id=orgs[0].pk, role=Role.OWNER).user)
    return tuple(orgs), client.cookies["sessionid"].value


def http_call(
    base_url: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """One request on a connection of its own (a JSON `body` or a urlencoded `form`): its status and body."""
    url = urlparse(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    all_headers = dict(headers or {})
    payload = None
    if body is not None:
        payload, all_headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    elif form is not None:
        payload, all_headers["Content-Type"] = urlencode(form).encode(), "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _usage_event(rng: random.Random, org: Org, traffic: Traffic) -> dict[str, Any]:
    with traffic.lock:
        earlier = [key for key, (pk, _) in traffic.accepted.items() if pk == org.pk][-50:]
    if earlier and rng.random() < 0.1:
        return {"id": rng.choice(earlier), "meter": "tool_calls", "quantity": 1}
    return {
        "id": uuid.uuid4().hex,
        "meter": rng.choice(("tool_calls", "tool_calls", "ai_tokens")),
        "quantity": rng.randint(1, 40),
        "user": org.member,
        "integration": rng.choice(("web-search", "code-interpreter", "")),
        "model": rng.choice(("gpt-4o-mini", "claude-haiku")),
    }


def one_request(target: Target, kind: str, rng: random.Random, traffic: Traffic) -> None:
    """Send one request of `kind` and record how it was answered (and, for usage, what was accepted)."""
    org = rng.choice(target.orgs)
    auth = {"Authorization": f"Bearer {org.api_key}"}
    answers: list[tuple[int, bytes]] = []
    event: dict[str, Any] = {}
    try:
        if kind == "usage":
            event = _usage_event(rng, org, traffic)
            answers.append(http_call(target.base_url, "POST", "/api/v2/usage/events", body=event, headers=auth))
        elif kind == "quota":
            answers.append(http_call(target.base_url, "GET", "/api/v2/quota/tool_calls", headers=auth))
        elif kind == "session":
            answers.append(http_call(target.base_url, "POST", "/api/v2/sessions", headers=auth))
            if answers[0][0] == 201:
                session_id = json.loads(answers[0][1])["id"]
                answers.append(http_call(target.base_url, "POST", f"/api/v2/sessions/{session_id}/end", headers=auth))
        else:
            cookie = {"Cookie": f"sessionid={target.session_cookie}"}
            answers.append(http_call(target.base_url, "GET", rng.choice(PAGES), headers=cookie))
    except OSError as error:
        with traffic.lock:
            traffic.by_kind[kind] += 1
            traffic.errors.append(f"{kind}: {type(error).__name__}: {error}")
            traffic.timeline.append((time.monotonic(), kind, 0, str(error).encode()))
        return
    with traffic.lock:
        traffic.by_kind[kind] += 1
        for status, body in answers:
            traffic.by_status[kind, status] += 1
            traffic.timeline.append((time.monotonic(), kind, status, b"" if status < 300 else body))
            if status >= 500:
                traffic.errors.append(f"{kind}: {status} {body[:200]!r}")
        status, body = answers[0]
        if kind == "usage" and status == 201:
            traffic.accepted[event["id"]] = (org.pk, json.loads(body))
        elif kind == "usage" and status == 200:
            traffic.replays.append((event["id"], json.loads(body)))


def drive(
    target: Target, *, seconds: float, rate: float, traffic: Traffic, stop: threading.Event | None = None
) -> Traffic:
    """`rate` requests/s for `seconds` (or until `stop` is set), each thread on its own fixed schedule."""
    started = time.monotonic()
    interval = THREADS / rate

    def client(index: int) -> None:
        rng = random.Random(index)
        due = started + index * interval / THREADS
        while due < started + seconds and not (stop and stop.is_set()):
            time.sleep(max(0.0, due - time.monotonic()))
            one_request(target, rng.choice(KINDS), rng, traffic)
            due += interval

    threads = [threading.Thread(target=client, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return traffic


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in children.read_text().split()] if children.exists() else []


def process_tree(named: dict[str, int]) -> dict[str, int]:
    """The given processes and their children (gunicorn's workers), by name."""
    tree = dict(named)
    for name, pid in named.items():
        for index, child in enumerate(_children(pid), start=1):
            tree[f"{name} child {index}"] = child
    return tree


def check_books(orgs: tuple[Org, ...], traffic: Traffic) -> list[str]:
    """What is wrong with the books after the run (nothing, when empty)."""
    from django.db.models import Sum

    from metering.models import CreditEntry, CreditPool, UsageCounter, UsageEvent

    problems = []
    org_ids = [org.pk for org in orgs]
    events = UsageEvent.objects.filter(org_id__in=org_ids)
    stored = dict(events.values_list("key", "org_id"))
    lost = [key for key, (org_id, _) in traffic.accepted.items() if stored.get(key) != org_id]
    if lost:
        problems.append(f"{len(lost)} accepted events not stored, e.g. {lost[:3]}")
    duplicated = events.count() - len(stored)
    if duplicated:
        problems.append(f"{duplicated} events stored twice")
    for key, answer in traffic.replays:
        first = traffic.accepted.get(key, (None, None))[1]
        if first is not None and (answer["used"], answer["state"]) != (first["used"], first["state"]):
            problems.append(f"replay of {key} answered {answer}, first answer {first}")
    counters = UsageCounter.objects.filter(org_id__in=org_ids).order_by("org_id", "meter", "subject", "window_start")
    for counter, following in zip(counters, [*counters[1:], None], strict=True):
        if counter.subject == "org":
            # The events of the counter's window: from its start to the next window's start.
            counted = events.filter(
                org_id=counter.org_id, meter=counter.meter, counted=True, occurred_at__gte=counter.window_start
            )
            same_series = (following.org_id, following.meter, following.subject) if following else None
            if same_series == (counter.org_id, counter.meter, counter.subject):
                counted = counted.filter(occurred_at__lt=following.window_start)
            total = counted.aggregate(total=Sum("quantity"))["total"] or 0
            if counter.used != total:
                problems.append(f"org {counter.org_id} {counter.meter}: counter {counter.used}, events {total}")
        if counter.hard_limit is not None and counter.used > counter.hard_limit:
            problems.append(f"{counter}: used {counter.used} above its hard limit {counter.hard_limit}")
    for pool in CreditPool.objects.filter(org_id__in=org_ids):
        sums = CreditEntry.objects.filter(pool=pool).aggregate(a=Sum("allotment_delta"), t=Sum("topup_delta"))
        if (sums["a"] or 0, sums["t"] or 0) != (pool.allotment_balance, pool.topup_balance):
            problems.append(f"pool {pool.pk}: balances {pool.allotment_balance}/{pool.topup_balance}, ledger {sums}")
    return problems


def alerts_emailed(orgs: tuple[Org, ...], *, wait: float) -> tuple[int, int]:
    """The low-credit alerts raised during the run and how many the worker emailed (given `wait` s to finish)."""
    from metering.models import CreditAlert

    raised = CreditAlert.objects.filter(org_id__in=[org.pk for org in orgs])
    deadline = time.monotonic() + wait
    while raised.filter(emailed_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    return raised.count(), raised.filter(emailed_at__isnull=False).count()


@dataclass
class Report:
    seconds: float
    rate: float
    traffic: Traffic
    rss_start: dict[str, int]
    rss_end: dict[str, int]
    alerts: tuple[int, int]  # raised, emailed by the worker
    problems: list[str]

    def lines(self) -> Iterator[str]:
        achieved = self.traffic.requests / self.seconds
        yield f"{self.seconds:.0f} s at {self.rate:g} requests/s scheduled ({achieved:.1f}/s answered)"
        yield "requests by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(self.traffic.by_kind.items()))
        answers = sorted(self.traffic.by_status.items())
        yield "answers by kind and status: " + ", ".join(f"{kind} {status}: {n}" for (kind, status), n in answers)
        five = sum(n for (_, status), n in answers if status >= 500)
        yield f"5xx: {five}; connection errors: {len(self.traffic.errors) - five}"
        yield f"usage events accepted: {len(self.traffic.accepted)}, replays answered: {len(self.traffic.replays)}"
        yield f"low-credit alerts raised: {self.alerts[0]}, emailed by the worker: {self.alerts[1]}"
        for name, start in self.rss_start.items():
            end = self.rss_end.get(name, 0)
            yield f"RSS {name:24} {start / 1024:7.1f} MB -> {end / 1024:7.1f} MB ({(end - start) / 1024:+.1f} MB)"
        yield "books: " + ("balanced" if not self.problems else "; ".join(self.problems))


def soak(target: Target, pids: dict[str, int], *, seconds: float, rate: float) -> Report:
    """Warm up, sample RSS, drive the traffic, sample RSS again, check the books."""
    traffic = Traffic()
    drive(target, seconds=WARM_UP_SECONDS, rate=rate, traffic=traffic)
    tree = process_tree(pids)
    rss_start = {name: rss_kb(pid) for name, pid in tree.items()}
    started = time.monotonic()
    drive(target, seconds=seconds, rate=rate, traffic=traffic)
    elapsed = time.monotonic() - started + WARM_UP_SECONDS
    rss_end = {name: rss_kb(pid) for name, pid in tree.items()}
    problems = check_books(target.orgs, traffic)
    if traffic.errors:
        problems.append(f"{len(traffic.errors)} 5xx or connection errors, e.g. {traffic.errors[:3]}")
    for name, start in rss_start.items():
        if rss_end[name] - start > RSS_GROWTH_LIMIT_KB:
            problems.append(f"{name} grew by {(rss_end[name] - start) / 1024:.1f} MB")
    alerts = alerts_emailed(target.orgs, wait=15)
    if alerts[1] < alerts[0]:
        problems.append(f"{alerts[0] - alerts[1]} low-credit alerts never emailed")
    return Report(elapsed, rate, traffic, rss_start, rss_end, alerts, problems)


@contextmanager
def stack(var_dir: Path, log: Path, *, workers: int, database_url: str = "") -> Iterator[tuple[str, dict[str, int]]]:
    """gunicorn and a Celery worker on the same database and Redis; yields the base URL and their pids."""
    from tests.resilience.processes import app_env, celery_worker_command, gunicorn, started

    queue = f"soak-{uuid.uuid4().hex[:8]}"  # the worker runs what the web processes queue (renders, alert emails)
    env = app_env(
        var_dir, database_url=database_url, redis_url=os.environ["REDIS_URL"], CELERY_TASK_DEFAULT_QUEUE=queue
    )
    with started(celery_worker_command(queue), env, log) as worker, gunicorn(env, log, workers=workers) as server:
        yield server.url, {"gunicorn": server.process.pid, "celery worker": worker.pid}


def _database_create(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--rate", type=float, default=40)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bp_soak")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
    os.environ["DJANGO_SETTINGS_MODULE"] = "billing_portal.settings.dev"
    os.environ["DEBUG"] = "false"
    _database_create(os.environ["DATABASE_URL"])
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    orgs, cookie = seed()
    with TemporaryDirectory() as var_dir:
        log = Path(var_dir) / "processes.log"
        with stack(Path(var_dir), log, workers=args.workers, database_url=os.environ["DATABASE_URL"]) as (url, pids):
            report = soak(Target(url, orgs, cookie), pids, seconds=args.seconds, rate=args.rate)
    for line in report.lines():
        print(line)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
