"""Invoice PDF benchmark: median render time of a one-page, a ten-page and a 200-line invoice; peak memory.

    .venv/bin/python bench/pdf.py [--runs 15]      (or: make bench-pdf)

Renders run in one process, as in a Celery worker: the first render (fonts loading) is reported apart and the
medians are of the renders after it. The targets are on wall-clock time; CPU time is shown beside it because
on a shared machine it is the steadier figure. Invoices are built through the services in a throwaway
in-memory SQLite database. Peak memory is the process's maximum resident set size after all renders. Exits 1
when a target is missed: one page under 200 ms (median), 200 lines under 2 s and the process under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import sys
import time
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_portal.settings.test")
os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")

# WeasyPrint logs every rendering step at INFO, and the fontTools fallback at WARNING on every render; here that
# would bury the figures (the subsetter in use is printed once, with them).
logging.getLogger("weasyprint").setLevel(logging.ERROR)

import django  # noqa: E402

django.setup()

from django.test.utils import setup_databases, setup_test_environment  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from invoices.pdf import invoice_pdf_bytes  # noqa: E402
from tests.factories import invoice_lines, issue_invoice, make_org  # noqa: E402

TARGETS = {"one_page_ms": 200, "lines_200_ms": 2_000, "peak_rss_mb": 300}
# Lines per invoice: a typical one-page invoice, enough for ten pages, and the 200-line target.
SCENARIOS = {"one_page": 5, "ten_pages": 310, "lines_200": 200}


def font_subsetter() -> str:
    """HarfBuzz-Subset when the system has it; WeasyPrint's slower fontTools fallback otherwise."""
    from weasyprint.text.ffi import harfbuzz_subset

    if harfbuzz_subset is not None:
        return "HarfBuzz-Subset"
    return "fontTools, several times slower (HarfBuzz-Subset is missing: on Debian, libharfbuzz-subset0)"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed renders per invoice (after one warm-up)")
    runs = parser.parse_args().runs

    setup_test_environment()
    setup_databases(verbosity=0, interactive=False)
    org = make_org(name="Bench GmbH", clock_at=datetime(2026, 3, 10, 12, tzinfo=UTC))
    org.country, org.tax_id, org.billing_address = "DE", "DE123456789", "Unter den Linden 1\n10117 Berlin"
    org.save()
    invoices = {name: issue_invoice(org, lines=invoice_lines(count)) for name, count in SCENARIOS.items()}
    baseline = peak_rss_mb()

    started = time.perf_counter()
    invoice_pdf_bytes(invoice=invoices["one_page"])
    first_ms = (time.perf_counter() - started) * 1000
    results: dict[str, object] = {"first_render_ms": round(first_ms), "runs": runs}
    for name, invoice in invoices.items():
        timings, cpu_timings = [], []
        for _ in range(runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            content = invoice_pdf_bytes(invoice=invoice)
            timings.append((time.perf_counter() - started) * 1000)
            cpu_timings.append((time.process_time() - cpu_started) * 1000)
        results[name] = {
            "lines": SCENARIOS[name],
            "pages": len(PdfReader(BytesIO(content)).pages),
            "median_ms": round(statistics.median(timings), 1),
            "max_ms": round(max(timings), 1),
            "median_cpu_ms": round(statistics.median(cpu_timings), 1),
            "kb": round(len(content) / 1024),
        }
    results["rss_before_renders_mb"] = round(baseline)
    results["peak_rss_mb"] = round(peak_rss_mb())

    print(f"font subsetting: {font_subsetter()}")
    print(f"first render (loads fonts): {results['first_render_ms']} ms; {runs} timed renders each")
    for name in SCENARIOS:
        row = results[name]
        print(f"{name:<10} {row['lines']:>4} lines {row['pages']:>3} pages  median {row['median_ms']:>7} ms"
              f" (CPU {row['median_cpu_ms']:>7} ms)  max {row['max_ms']:>7} ms  {row['kb']:>4} KB")
    print(f"peak RSS {results['peak_rss_mb']} MB (before rendering: {results['rss_before_renders_mb']} MB)")
    out = ROOT / "bench" / "results" / "pdf.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")

    missed = [
        target for target, value in (
            ("one_page_ms", results["one_page"]["median_ms"]),
            ("lines_200_ms", results["lines_200"]["median_ms"]),
            ("peak_rss_mb", results["peak_rss_mb"]),
        ) if value >= TARGETS[target]
    ]  # fmt: skip
    print("targets met" if not missed else f"targets missed: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
