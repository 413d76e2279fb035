"""Metering hot-path benchmark against PostgreSQL under gunicorn.

    .venv/bin/python bench/metering.py [--seconds 10] [--concurrency 8] [--workers 4]
    (or: make bench-metering)

Measures, under the same concurrency and the same gunicorn: (a) a bare Django view doing one counter UPDATE,
(b) POST /api/v2/usage/events with quotas, member and space caps and credits on, and (c) the batch
endpoint with 1,000-event batches; and, as a reference, the floor: b's own API stack (key, scope, rate limit,
parsing, answer) without recording the event. Prints events/s and p50/p99 latency, the ratios b/a, the CPU time
one request costs the web workers, PostgreSQL, Redis and the load's clients (all share the machine's cores), and
how many SQL statements one event costs. DATABASE_URL is created and migrated if needed; without it, the
benchmark's own postgres://postgres@127.0.0.1:5432/bp_bench is made afresh for each run (its tables grow by
hundreds of thousands of events a run, which slowed later runs' batches by a third). The cache (the API
throttle's) is Redis as deployed: REDIS_URL, else a Redis on 127.0.0.1:6379 if one answers (database 3), else
the file cache. Clients make their request bodies before the clock starts; every request opens its own
connection, for both sides; a, the floor and b alternate in slices.
Exits 1 when a target is missed: throughput b/a >= 0.7, p99 b <= 1.5 x p99 a, batch >= 20,000 events/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OWN_DATABASE = "DATABASE_URL" not in os.environ  # only the benchmark's own database is ever dropped
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bp_bench")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.metering_settings"
HOST, PORT = "127.0.0.1", 8765
REDIS = ("127.0.0.1", 6379)


def cache_choose() -> str:
    """The per-key throttle reads and writes the cache on every API call: measure it on Redis, as deployed, when
    one answers (REDIS_URL wins); without one, the file cache of `make run` costs a file write per call."""
    if "REDIS_URL" not in os.environ:
        try:
            socket.create_connection(REDIS, timeout=0.5).close()
            os.environ["REDIS_URL"] = f"redis://{REDIS[0]}:{REDIS[1]}/3"  # a database of its own
        except OSError:
            return "file cache (no Redis)"
    return f"Redis {os.environ['REDIS_URL']}"


TARGETS = {"ratio": 0.7, "p99": 1.5, "batch": 20_000}
TURNS = 4  # a and b alternate in this many slices of --seconds each


def database_create() -> None:
    import psycopg

    url = urlparse(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if OWN_DATABASE:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def seed() -> dict[str, object]:
    """A Team org with a member, a space, caps on both and plenty of credits; returns what the load needs.

    Its tool_calls quota is a staff deal far above what a run sends: still checked on every event, never reached,
    so that every event measured is one recorded (a refused event costs less).
    """
    from accounts.models import Membership, Role
    from accounts.services import space_create
    from billing_portal.api.keys import api_key_create
    from billing_portal.audit.services import Actor
    from billing_portal.catalog.models import Meter, QuotaOverride
    from metering.models import UsageCounter
    from metering.services import cap_set, credits_grant, credits_reseed_allotment
    from tests.factories import add_member, make_org

    actor = Actor.system("bench")
    org = make_org(name=f"Bench {uuid.uuid4().hex[:8]}", plan="team")
    QuotaOverride.objects.create(org=org, meter=Meter.objects.get(code="tool_calls"), monthly_quota=10**12)
    credits_reseed_allotment(org=org, actor=actor, reason="benchmark quota")  # opens the cycle with the deal
    member = add_member(org)
    space = space_create(org=org, name="Bench space")
    owner = Membership.objects.get(org=org, role=Role.OWNER)
    for meter in ("tool_calls", "credits"):
        cap_set(org=org, meter=meter, limit=10**12, by=owner, member=member)
    cap_set(org=org, meter="tool_calls", limit=10**12, by=owner, space=space)
    credits_grant(org=org, credits=10**12, reason="benchmark", actor=actor)
    _, secret = api_key_create(
        org=org, name="bench", kind="live", scopes=["usage"], actor=actor, may_grant_billing_write=False
    )
    counter = UsageCounter.objects.filter(org=org, subject="org", meter="api_requests").get()
    assert UsageCounter.objects.get(org=org, subject="org", meter="tool_calls").quota == 10**12
    return {"secret": secret, "user": member.user.email, "space": space.slug, "counter": counter.pk}


def event(ctx: dict[str, object]) -> dict[str, object]:
    return {
        "id": uuid.uuid4().hex,
        "meter": "tool_calls",
        "quantity": 1,
        "user": ctx["user"],
        "space": ctx["space"],
        "integration": "web-search",
        "agent": "bench-agent",
    }


def statements_per_event(ctx: dict[str, object]) -> list[str]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {ctx['secret']}")
    client.post("/api/v2/usage/events", event(ctx), content_type="application/json")  # warm caches
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v2/usage/events", event(ctx), content_type="application/json")
    assert response.status_code == 201, response.content
    return [q["sql"] for q in queries.captured_queries]


# Request bodies are made before the clock starts, as many as this rate would use (more are made on the way):
# the clients share the server's two cores, and the baseline's body costs nothing to make.
BODIES_PER_S = {"baseline": 0, "floor": 2_000, "event": 2_000, "batch": 25}
BATCH = 1_000
ONE_EVENT_PATHS = {"event": "/api/v2/usage/events", "floor": "/bench/floor"}


def _body(kind: str, ctx: dict[str, object]) -> tuple[str, bytes, int]:
    if kind == "baseline":
        return f"/bench/baseline/{ctx['counter']}", b"{}", 1
    if kind in ONE_EVENT_PATHS:
        return ONE_EVENT_PATHS[kind], json.dumps(event(ctx)).encode(), 1
    return "/api/v2/usage/events/batch", json.dumps({"events": [event(ctx) for _ in range(BATCH)]}).encode(), BATCH


def _worker(
    kind: str,
    ctx: dict[str, object],
    seconds: float,
    threads: int,
    ready: multiprocessing.Queue,
    go: multiprocessing.Event,  # type: ignore[valid-type]
    out: multiprocessing.Queue,
) -> None:
    latencies: list[float] = []
    counts: list[int] = []
    lock = threading.Lock()
    made = [[_body(kind, ctx) for _ in range(int(BODIES_PER_S[kind] * seconds / threads / 2))] for _ in range(threads)]
    ready.put(True)
    go.wait()
    started_at = time.perf_counter()
    deadline = started_at + seconds

    def loop(bodies: list[tuple[str, bytes, int]]) -> None:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ctx['secret']}"}
        mine, events = [], 0
        while time.perf_counter() < deadline:
            path, body, size = bodies.pop() if bodies else _body(kind, ctx)
            conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            mine.append(time.perf_counter() - started)
            conn.close()
            if response.status not in (200, 201):
                print(f"{path} answered {response.status}", file=sys.stderr)
                break
            # A batch answers 200 even when it refuses events: only events recorded count.
            refused = [r for r in json.loads(answer)["results"] if r["status"] != 201] if size > 1 else []
            if refused:
                print(f"{path}: {len(refused)} events not recorded, the first: {refused[0]}", file=sys.stderr)
                break
            events += size
        with lock:
            latencies.extend(mine)
            counts.append(events)

    pool = [threading.Thread(target=loop, args=(bodies,)) for bodies in made]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.put((latencies, sum(counts), time.perf_counter() - started_at))


Run = tuple[list[float], int, float, dict[str, float]]  # latencies, events, seconds, CPU seconds by process kind
PROCESS_KINDS = ("gunicorn", "postgres", "redis")  # by command line; the load's own clients are counted apart


def cpu_seconds() -> dict[str, float]:
    """CPU time used so far by the web workers, PostgreSQL and Redis processes (Linux /proc)."""
    used = dict.fromkeys(PROCESS_KINDS, 0.0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        kind = next((kind for kind in PROCESS_KINDS if kind in command), None)
        if kind:
            used[kind] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return used


def load(kind: str, ctx: dict[str, object], seconds: float, concurrency: int) -> Run:
    """`concurrency` clients (threads in two processes) for `seconds`, timed from when all are ready."""
    processes = 2 if concurrency >= 2 else 1
    ready: multiprocessing.Queue = multiprocessing.Queue()
    out: multiprocessing.Queue = multiprocessing.Queue()
    go = multiprocessing.Event()
    workers = [
        multiprocessing.Process(
            target=_worker, args=(kind, ctx, seconds, concurrency // processes, ready, go, out)
        )
        for _ in range(processes)
    ]
    for process in workers:
        process.start()
    for _ in workers:
        ready.get()
    before, clients_before = cpu_seconds(), os.times()
    go.set()
    results = [out.get() for _ in workers]
    for process in workers:
        process.join()
    after, clients_after = cpu_seconds(), os.times()
    cpu = {kind: after[kind] - before[kind] for kind in PROCESS_KINDS}
    # Children's times count once joined; they include making the bodies made before the clock started.
    cpu["clients"] = sum(clients_after[2:4]) - sum(clients_before[2:4])
    latencies = [latency for result in results for latency in result[0]]
    return latencies, sum(result[1] for result in results), max(result[2] for result in results), cpu


def summary(runs: list[Run]) -> dict[str, float]:
    latencies = sorted(latency for run in runs for latency in run[0])
    return {
        "per_s": sum(run[1] for run in runs) / sum(run[2] for run in runs),
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "requests": len(latencies),
        **{kind: sum(run[3][kind] for run in runs) * 1000 / len(latencies) for kind in (*PROCESS_KINDS, "clients")},
    }


def gunicorn(workers: int) -> subprocess.Popen[bytes]:
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "billing_portal.wsgi:application",
        "--bind",
        f"{HOST}:{PORT}",
        "--workers",
        str(workers),
        "--chdir",
        str(ROOT),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, env=os.environ.copy())
    for _ in range(100):
        try:
            http.client.HTTPConnection(HOST, PORT, timeout=1).request("GET", "/admin/login/")
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    cache = cache_choose()
    database_create()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    ctx = seed()
    statements = statements_per_event(ctx)
    server = gunicorn(args.workers)
    try:
        load("event", ctx, 2, args.concurrency)  # warm the workers
        # a, the floor and b take turns, so that whatever else the machine does weighs on them alike.
        turns = [
            [load(kind, ctx, args.seconds / TURNS, args.concurrency) for kind in ("baseline", "floor", "event")]
            for _ in range(TURNS)
        ]
        baseline, floor, hot = (summary([turn[index] for turn in turns]) for index in range(3))
        batch = summary([load("batch", ctx, args.seconds, max(2, args.concurrency // 4))])
    finally:
        server.terminate()
        server.wait()
    ratio, p99_ratio = hot["per_s"] / baseline["per_s"], hot["p99"] / baseline["p99"]
    print(
        f"concurrency {args.concurrency}, gunicorn workers {args.workers}, {args.seconds:g} s per run, "
        f"{os.cpu_count()} CPUs, cache: {cache}"
    )
    rows = (("a baseline (1 UPDATE)", baseline), ("   floor: b not recording", floor), ("b POST usage/events", hot))
    for name, row in rows:
        print(f"{name:24} {row['per_s']:9.0f} events/s   p50 {row['p50']:6.2f} ms   p99 {row['p99']:6.2f} ms")
    print(f"{'c batch of 1,000':24} {batch['per_s']:9.0f} events/s   p50 {batch['p50']:6.2f} ms per batch")
    print("CPU per request (ms): web workers / PostgreSQL / Redis / load clients")
    for name, row in (("a", baseline), ("floor", floor), ("b", hot), ("c (1,000 events)", batch)):
        print(f"    {name:18} " + " / ".join(f"{row[kind]:.2f}" for kind in (*PROCESS_KINDS, "clients")))
    print(
        f"throughput b/a {ratio:.2f} (target >= {TARGETS['ratio']}); p99 b/a {p99_ratio:.2f} "
        f"(target <= {TARGETS['p99']}); batch target >= {TARGETS['batch']:,} events/s"
    )
    print(
        f"floor/a {floor['per_s'] / baseline['per_s']:.2f}, p99 floor/a {floor['p99'] / baseline['p99']:.2f}: "
        "the most b/a could reach if recording the event cost nothing"
    )
    # The hot path's write carries the transaction's COMMIT (which Django logs on a line of its own) with it.
    from metering.services.usage_sql import COMMIT_MARK

    carried = sum(sql.endswith(COMMIT_MARK) for sql in statements)
    print(
        f"SQL statements for one event (auth, lookups, transaction): {len(statements)}, "
        f"in {len(statements) - carried} round trips"
    )
    for previous, sql in zip(["", *statements], statements, strict=False):
        note = "  (sent with the statement above)" if sql == "COMMIT" and previous.endswith(COMMIT_MARK) else ""
        print("   ", sql[:110] + note)
    met = ratio >= TARGETS["ratio"] and p99_ratio <= TARGETS["p99"] and batch["per_s"] >= TARGETS["batch"]
    print("all targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
