"""Server time of every billing page on a big org: 1,000 members, 2,000 invoices, 100,000 usage events.

    .venv/bin/python bench/pages.py [--repeat 15]        (or: make bench-pages)

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bp_bench_pages, created and migrated when
needed). Each page is requested through Django's test client (no network), warmed once, then timed `--repeat`
times; the script prints the median and worst server time and the SQL queries per page, beside the same
figures for a small org measured in the same run (the baseline: the ratio shows what size costs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bp_bench_pages")
os.environ["DJANGO_SETTINGS_MODULE"] = "billing_portal.settings.dev"  # static files without collectstatic
os.environ["DEBUG"] = "false"
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
PAGES = ["overview", "usage", "credits", "invoices", "payment", "plans", "members", "activity"]


def database_create() -> None:
    url = urlparse(os.environ["DATABASE_URL"])
    if url.scheme.startswith("postgres"):
        import psycopg

        name = url.path.lstrip("/")
        with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')


def measure(client, repeat: int) -> dict[str, tuple[float, float, int]]:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    figures = {}
    for page in PAGES:
        url = reverse(f"portal:{page}")
        client.get(url)
        times = []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (page, response.status_code)
        figures[page] = (statistics.median(times), max(times), len(queries))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    database_create()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from tests.factories import make_org
    from tests.portal.bulk import grow
    from tests.subscriptions.helpers import owner

    call_command("migrate", verbosity=0)
    tag = uuid.uuid4().hex[:6]
    small = make_org(name=f"Small {tag}", plan="team")
    grow(small, members=3, invoices=2, events=20, ledger=2)
    big = make_org(name=f"Big {tag}", plan="team")
    started = time.perf_counter()
    grow(big, members=1_000, invoices=2_000, events=100_000, ledger=10_000)
    print(f"built the big org in {time.perf_counter() - started:.1f} s ({os.environ['DATABASE_URL'].split('@')[-1]})")
    results = {}
    for org in (small, big):
        client = Client()
        client.force_login(owner(org).user)
        results[org.pk] = measure(client, args.repeat)
    print(f"{'page':10} {'small median':>13} {'big median':>11} {'big worst':>10} {'ratio':>6} {'queries':>8}")
    for page in PAGES:
        small_median, _, small_queries = results[small.pk][page]
        median, worst, queries = results[big.pk][page]
        print(f"{page:10} {small_median:10.1f} ms {median:8.1f} ms {worst:7.1f} ms {median / small_median:6.2f} "
              f"{small_queries:>3} / {queries:<3}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
