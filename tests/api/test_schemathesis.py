"""Schemathesis against a live test server, bounded in time: no 5xx, and every answer as the schema says."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from billing_portal.api.keys import api_key_create
from invoices.pdf import invoice_render_pdf
from tests.api.helpers import ALL_SCOPES
from tests.factories import TEST_ACTOR, issue_invoice
from tests.metering.helpers import metered_org

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
TIME_BUDGET_SECONDS = 60
# Every answer must be documented (status, content type, headers) and match its schema; no 5xx at all.
# (Not `negative_data_rejection`: a batch answers 200 with each refused event's own 400 inside, by design.)
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_errors_and_no_answers_outside_the_schema(live_server, tmp_path):
    org = metered_org()
    invoice_render_pdf(invoice=issue_invoice(org))  # an invoice to find, its PDF ready
    _, secret = api_key_create(
        org=org, name="schemathesis", kind="live", scopes=list(ALL_SCOPES), actor=TEST_ACTOR,
        may_grant_billing_write=True,
    )
    report = tmp_path / "report.json"
    result = subprocess.run(
        [
            str(SCHEMATHESIS), "run", f"{live_server.url}/api/schema/",
            "--header", f"Authorization: Bearer {secret}",
            "--checks", ",".join(CHECKS),
            "--max-time", str(TIME_BUDGET_SECONDS),
            "--workers", "1",  # on SQLite the live server shares the test's one database connection
            "--request-timeout", "60",  # never abandon a slow request and send the next one beside it
            "--report", "json", "--report-json-path", str(report),
        ],
        capture_output=True, text=True, timeout=TIME_BUDGET_SECONDS * 3,
    )
    assert result.returncode == 0, result.stdout[-20_000:] + result.stderr[-5_000:]
    summary = json.loads(report.read_text())
    assert summary["operations"]["tested"] == summary["operations"]["total"] >= 16
    assert summary["test_cases"]["generated"] > 100 and summary["test_cases"]["with_failures"] == 0
    # Shown with `pytest -s`: how much was tried, in how long, from which seed.
    print(f"schemathesis: {summary['test_cases']['generated']} cases in {summary['running_time']:.0f} s, "
          f"seed {summary['seed']}")
