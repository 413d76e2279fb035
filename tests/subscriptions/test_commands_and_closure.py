import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import InvitationStatus, Membership, Organization, Role, User
from accounts.services import invitation_accept, invitation_create
from billing_portal.audit.models import AuditEntry
from billing_portal.core.errors import BillingError
from billing_portal.payments.models import TestCard
from billing_portal.payments.services import payment_method_add_test_card
from billing_portal.subscriptions.models import Status
from billing_portal.subscriptions.services.closure import org_request_closure
from invoices.models import Invoice, InvoiceKind, InvoiceStatus
from tests.factories import add_member, make_org
from tests.subscriptions.helpers import ACTOR, advance, owner

pytestmark = pytest.mark.django_db
JAN10 = datetime(2026, 1, 10, tzinfo=UTC)


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_create_org_prints_json_and_starts_the_plan():
    result = run("create_org", "--name", "Acme", "--owner-email", "Boss@Example.com", "--plan", "pro",
                 "--no-trial", "--timezone", "Europe/Paris", "--test-clock", "2026-01-31T09:00:00Z")
    org = Organization.objects.get(pk=result["org_id"])
    assert (result["slug"], result["owner_email"], result["plan"], result["status"]) == (
        "acme", "boss@example.com", "pro", "active"
    )
    assert result["current_period_end"] == "2026-02-28T09:00:00+00:00"  # Jan 31 anchor, 10:00 in Paris
    assert org.invoices.get().status == "paid" and org.timezone == "Europe/Paris"
    trial = run("create_org", "--name", "Trial Co", "--owner-email", "boss@example.com", "--plan", "team")
    assert trial["status"] == "trialing" and trial["invoices"] == []
    assert Organization.objects.get(pk=trial["org_id"]).memberships.get().user.email == "boss@example.com"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--plan", "platinum"], "Unknown plan"),
        (["--timezone", "Mars/Olympus"], "Unknown time zone"),
        (["--test-clock", "yesterday"], "--test-clock must be"),
        (["--plan", "enterprise"], "assigned by staff"),
        (["--currency", "XXX"], "not a valid choice"),
    ],
)
def test_create_org_refuses_bad_input_cleanly(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_org", "--name", "Bad", "--owner-email", "bad@example.com", *args, stdout=StringIO())
    assert not Organization.objects.exists()


def test_advance_clock_runs_that_orgs_jobs_and_billing_tick_the_rest():
    clocked = make_org(name="Clocked", plan="pro", clock_at=JAN10)
    result = run("advance_clock", "--org", clocked.slug, "--days", "31")
    assert result["clock"] == "2026-02-10T00:00:00+00:00"
    assert any(run_["job"] == "renewal" for run_ in result["ran"])
    assert Invoice.objects.filter(org=clocked, kind="renewal").count() == 1
    ticked = run("billing_tick", "--now", "2030-01-01T00:00:00Z")
    assert {r["job"] for r in ticked["runs"]} >= {"renewal", "trial_expiry", "payment_retry", "closure_purge"}
    assert Invoice.objects.filter(org=clocked, kind="renewal").count() == 1  # its own clock did not move
    with pytest.raises(CommandError, match="only moves forward"):
        call_command("advance_clock", "--org", clocked.slug, "--to", "2025-01-01T00:00:00Z", stdout=StringIO())


def test_closure_stops_billing_and_purges_after_30_days():
    org = make_org(plan="team", clock_at=JAN10)
    member = add_member(org)
    lone_user_id, owner_user_id = member.user_id, owner(org).user_id
    other = make_org(name="Other", owner=owner(org).user)  # the owner belongs elsewhere too
    org_request_closure(org=org, by=owner(org), actor=ACTOR, reason="Moving on")
    org.subscription.refresh_from_db()
    assert org.subscription.status == Status.CANCELED
    org = advance(org, JAN10 + timedelta(days=29))
    assert Organization.objects.get(pk=org.pk).purged_at is None
    org = advance(org, JAN10 + timedelta(days=31))
    purged = Organization.objects.get(pk=org.pk)
    assert purged.purged_at is not None and purged.name == f"Closed organization {org.pk}"
    assert not Membership.objects.filter(org=org).exists() and not purged.spaces.exists()
    assert not User.objects.filter(pk=lone_user_id).exists()
    assert User.objects.filter(pk=owner_user_id).exists() and other.memberships.exists()
    assert Invoice.objects.filter(org=org).count() == 1  # the first Team invoice is kept
    assert list(AuditEntry.objects.filter(org=org, action__startswith="org.").values_list("action", flat=True)) == [
        "org.purged", "org.closure_requested", "org.created"]


def test_closure_revokes_pending_invitations_and_audits_each():
    org = make_org(plan="team", clock_at=JAN10)
    invitation, token = invitation_create(org=org, email="late@example.com", role=Role.MEMBER, by=owner(org))
    org_request_closure(org=org, by=owner(org), actor=ACTOR, reason="Moving on")
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.REVOKED
    assert AuditEntry.objects.filter(org=org, action="invitation.revoked", reason="Account closure").count() == 1
    with pytest.raises(BillingError):
        invitation_accept(token=token, user=User.objects.create_user(email="late@example.com", password="x-pass-1"))
    assert Membership.objects.filter(org=org).count() == 1


def test_a_closed_account_stays_closed_when_its_past_due_invoice_runs_out_of_retries():
    org = make_org(plan="starter", clock_at=JAN10)
    payment_method_add_test_card(org=org, card=TestCard.DECLINES, actor=ACTOR)
    feb10 = datetime(2026, 2, 10, tzinfo=UTC)
    org = advance(org, feb10)  # the renewal fails: past due, retries scheduled
    assert org.subscription.status == Status.PAST_DUE
    org_request_closure(org=org, by=owner(org), actor=ACTOR, reason="Leaving")
    for day in (1, 4, 9):
        org = advance(org, feb10 + timedelta(days=day))
    assert Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL).status == InvoiceStatus.UNCOLLECTIBLE
    org.subscription.refresh_from_db()
    assert (org.subscription.status, org.subscription.plan.code) == (Status.CANCELED, "starter")


@pytest.mark.parametrize(
    "args",
    [
        ["billing_tick", "--now", "2026-02-30T00:00:00Z"],  # well-formed, impossible
        ["billing_tick", "--now", "9999-12-31T00:00:00Z"],
        ["create_org", "--name", "X", "--owner-email", "x@example.com", "--test-clock", "2026-02-30T00:00:00Z"],
        ["advance_clock", "--org", "clocked", "--to", "2026-02-30T00:00:00Z"],
        ["advance_clock", "--org", "clocked", "--days", "3000000"],
    ],
)
def test_impossible_dates_and_days_are_command_errors(args):
    make_org(name="Clocked", plan="pro", clock_at=JAN10)
    with pytest.raises(CommandError):
        call_command(*args, stdout=StringIO())


@pytest.mark.parametrize("extra", [["--owner-email", "not-an-email"], ["--owner-email", "x@example.com",
                                                                        "--currency", "XXX"]])
def test_a_refused_create_org_leaves_no_user_behind(extra):
    users = User.objects.count()
    with pytest.raises(CommandError):
        call_command("create_org", "--name", "Bad", *extra, stdout=StringIO())
    assert User.objects.count() == users
