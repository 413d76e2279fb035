"""API keys and other secrets never reach the logs: everything logged at DEBUG (SQL with its parameters too)
while API calls are made with valid, invalid and revoked keys, Stripe webhooks are posted and people sign in
is searched for every secret used; and Django's error reports hide the Authorization header."""

from __future__ import annotations

import io
import logging
import secrets
import sys
from collections.abc import Iterator

import pytest
from django.core import mail
from django.http import HttpRequest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter

from billing_portal.api.keys import api_key_create, api_key_revoke
from tests.factories import TEST_ACTOR, UserFactory
from tests.metering.helpers import metered_org
from tests.stripe.builders import WEBHOOK_SECRET, event, signature
from tests.stripe.conftest import TEST_SECRET_KEY

pytestmark = pytest.mark.django_db
PASSWORD = "Zebra-Correct-Horse-4242!"
WRONG_PASSWORD = "Wrong-Zebra-Horse-9999!"


@pytest.fixture
def all_logs() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG (the root and those LOGGING sets higher), with its traceback."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    loggers = [logging.getLogger()] + [
        logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)
        for logger, level in levels.items():
            logger.setLevel(level)


def test_no_secret_is_ever_logged(fake_stripe, team, deliver, client: Client, all_logs):
    org = metered_org()
    scopes = ["usage", "billing:read"]
    _, valid = api_key_create(org=org, name="valid", kind="live", scopes=scopes, actor=TEST_ACTOR,
                              may_grant_billing_write=False)  # fmt: skip
    revoked_key, revoked = api_key_create(org=org, name="revoked", kind="live", scopes=scopes, actor=TEST_ACTOR,
                                          may_grant_billing_write=False)  # fmt: skip
    api_key_revoke(key=revoked_key, actor=TEST_ACTOR)
    invalid = f"bp_live_{secrets.token_urlsafe(32)}"
    answers = []
    for secret in (valid, revoked, invalid):
        api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
        answers += [
            api.get("/api/v2/quota/tool_calls").status_code,
            api.post("/api/v2/usage/events", {"id": secret[-12:], "meter": "tool_calls", "quantity": 1},
                     content_type="application/json").status_code,  # fmt: skip
            api.get("/api/billing").status_code,
            Client(HTTP_AUTHORIZATION=f"Token {secret}").get("/api/billing").status_code,  # a wrong scheme
            Client().get(f"/api/billing?api_key={secret}").status_code,  # a key in the URL
        ]
    assert answers[:3] == [200, 201, 200] and set(answers[3:]) == {401}, answers
    stripe_event = event("customer.subscription.updated", team(seats=4), created=1_800_000_000)
    assert deliver(stripe_event).status_code == 200
    assert deliver(stripe_event, sign=lambda payload: signature(payload, secret="whsec_wrong")).status_code == 400
    user = UserFactory(password=PASSWORD)
    for password in (WRONG_PASSWORD, PASSWORD):
        client.post(reverse("login"), {"username": user.email, "password": password})
    assert client.get(reverse("portal:overview")).status_code in (200, 302)

    logged = all_logs.getvalue()
    assert "Unauthorized: /api/billing" in logged and "User login failed" in logged  # the capture saw them
    for name, secret in {"valid key": valid, "revoked key": revoked, "invalid key": invalid,
                         "webhook secret": WEBHOOK_SECRET, "Stripe API key": TEST_SECRET_KEY,
                         "password": PASSWORD, "wrong password": WRONG_PASSWORD}.items():  # fmt: skip
        assert secret not in logged, f"the {name} was logged"
        assert secret[:20] not in logged, f"the start of the {name} was logged"


def test_error_reports_hide_the_authorization_header_and_other_credentials(settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    secret = f"bp_live_{secrets.token_urlsafe(32)}"
    request = RequestFactory().post(
        "/api/v2/usage/events",
        {"id": "e1"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
        HTTP_STRIPE_SIGNATURE=f"t=1,v1={secret}",
        HTTP_COOKIE=f"sessionid={secret}",
    )
    text, html = _error_report(request)
    [report] = mail.outbox
    for shown in (text, html, report.body, report.alternatives[0][0]):
        assert "HTTP_AUTHORIZATION" in shown and secret not in shown


def _error_report(request: HttpRequest) -> tuple[str, str]:
    """What Django shows and emails about a crash in a request (no frame on the way holds the secret itself,
    as none should in a view: the request and its headers are what is cleansed)."""
    try:
        _fail()
    except RuntimeError:
        exc_info = sys.exc_info()
        reporter = ExceptionReporter(request, *exc_info)
        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error", (), exc_info)
        record.request, record.status_code = request, 500
        AdminEmailHandler(include_html=True).emit(record)
        return reporter.get_traceback_text(), reporter.get_traceback_html()
    raise AssertionError("not reached")


def _fail() -> None:
    raise RuntimeError("boom")
