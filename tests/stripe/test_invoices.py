import pytest
from django.conf import settings

from billing_portal.audit.models import AuditEntry
from billing_portal.payments.models import StripeEventReceipt
from billing_portal.payments.stripe_customers import stripe_customer_ensure
from billing_portal.payments.stripe_invoice_sync import invoice_lines_complete
from invoices.models import Invoice, InvoiceStatus, LineKind
from invoices.tasks import render_invoice_pdf
from tests.stripe.builders import PERIOD_START, event, invoice, line, team_lines

pytestmark = pytest.mark.django_db
T = PERIOD_START + 600


@pytest.fixture
def renders(monkeypatch):
    """The PDF renders queued (another part of the portal renders them)."""
    queued = []
    monkeypatch.setattr(render_invoice_pdf, "delay", queued.append)
    return queued


@pytest.fixture
def team_invoice(fake_stripe, catalog, org):
    """Builds Acme's Stripe invoice for Team with 3 seats in whatever state Stripe has it, and stores it."""
    customer = stripe_customer_ensure(org)
    lines = [
        *team_lines(catalog),
        line(
            price=catalog("bp:team:seat:month:usd"),
            amount=-400,
            quantity=1,
            proration=True,
            description="Unused time on 1 × Team seat",
        ),
    ]

    def state(status, **fields):
        return fake_stripe.put(
            invoice(
                invoice_id="in_acme",
                customer=customer,
                sub_id="sub_acme",
                status=status,
                lines=lines,
                tax=713,
                **fields,
            )
        )

    return state


def mirror():
    return Invoice.objects.get(stripe_invoice_id="in_acme")


def events(invoice_row):
    return list(invoice_row.events.values_list("kind", flat=True))


def test_a_stripe_invoice_is_mirrored_with_its_amounts_and_lines_through_its_life(
    team_invoice, deliver, django_capture_on_commit_callbacks, renders
):
    deliver(event("invoice.created", team_invoice("draft"), created=T))
    draft = mirror()
    assert (draft.kind, draft.status, draft.number, draft.seller) == ("stripe", InvoiceStatus.DRAFT, None, {})
    assert list(draft.lines.values_list("kind", "description", "quantity", "unit_amount", "amount")) == [
        (LineKind.PLAN, "1 × Team", 1, 4_900, 4_900),
        (LineKind.SEATS, "3 × Team seat", 3, 1_200, 3_600),
        (LineKind.SEAT_PRORATION, "Unused time on 1 × Team seat", 1, 1_200, -400),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        deliver(
            event(
                "invoice.finalized",
                team_invoice("open", number="ACME-0001", finalized_at=T + 60),
                created=T + 60,
            )
        )
    opened = mirror()
    assert (opened.status, opened.number, opened.subtotal, opened.tax, opened.total) == (
        InvoiceStatus.OPEN,
        "ACME-0001",
        8_100,
        713,
        8_813,
    )
    assert (opened.billed_name, opened.billing_email, opened.tax_id) == (
        "Acme Ltd",
        "billing@acme.test",
        "US-123",
    )
    assert opened.billing_address == "1 Main St\n12345 Springfield\nUS"
    assert opened.seller == settings.BILLING_SELLER  # as at finalization
    assert renders == [opened.pk]
    deliver(
        event(
            "invoice.payment_failed",
            team_invoice("open", number="ACME-0001", finalized_at=T + 60, attempt_count=1),
            created=T + 120,
        )
    )
    assert (mirror().status, mirror().attempt_count, mirror().next_payment_attempt_at) == (
        InvoiceStatus.PAST_DUE,
        1,
        None,
    )
    deliver(
        event(
            "invoice.paid",
            team_invoice(
                "paid",
                number="ACME-0001",
                finalized_at=T + 60,
                paid_at=T + 180,
                attempt_count=2,
                amount_paid=8_813,
            ),
            created=T + 180,
        )
    )
    paid = mirror()
    assert (paid.status, paid.amount_paid, int(paid.paid_at.timestamp())) == (
        InvoiceStatus.PAID,
        8_813,
        T + 180,
    )
    assert sum(paid.lines.values_list("amount", flat=True)) == paid.subtotal
    assert events(paid) == ["created", "finalized", "payment_failed", "paid"]
    audit = AuditEntry.objects.filter(action__startswith="invoice.stripe_").order_by("id")
    assert list(audit.values_list("action", flat=True)) == [
        "invoice.stripe_draft",
        "invoice.stripe_open",
        "invoice.stripe_past_due",
        "invoice.stripe_paid",
    ]


def test_lines_are_frozen_once_stripe_finalizes(team_invoice, deliver, catalog):
    deliver(event("invoice.finalized", team_invoice("open", number="ACME-0001"), created=T))
    changed = team_invoice("open", number="ACME-0001")
    changed["lines"]["data"][0]["amount"] = 1
    deliver(event("invoice.updated", changed, created=T + 5))
    assert mirror().lines.first().amount == 4_900


@pytest.mark.parametrize(
    ("event_type", "stripe_status", "ours", "kind"),
    [
        ("invoice.voided", "void", InvoiceStatus.VOID, "voided"),
        ("invoice.marked_uncollectible", "uncollectible", InvoiceStatus.UNCOLLECTIBLE, "uncollectible"),
    ],
)
def test_closing_statuses(team_invoice, deliver, event_type, stripe_status, ours, kind):
    deliver(event("invoice.finalized", team_invoice("open", number="ACME-0001"), created=T))
    deliver(event(event_type, team_invoice(stripe_status, number="ACME-0001"), created=T + 5))
    assert mirror().status == ours and events(mirror())[-1] == kind


def test_a_late_older_invoice_event_never_moves_the_mirror_backwards(team_invoice, deliver):
    deliver(
        event(
            "invoice.paid",
            team_invoice("paid", number="ACME-0001", attempt_count=1, amount_paid=8_813),
            created=T + 100,
        )
    )
    deliver(
        event(
            "invoice.payment_failed",
            team_invoice("open", number="ACME-0001", attempt_count=1),
            created=T + 50,
            event_id="evt_late",
        )
    )
    assert mirror().status == InvoiceStatus.PAID
    assert StripeEventReceipt.objects.get(event_id="evt_late").outcome == "stale"


def test_yen_amounts_are_mirrored_unchanged(fake_stripe, catalog, org, deliver):
    customer = stripe_customer_ensure(org)
    yen = invoice(
        invoice_id="in_yen",
        customer=customer,
        sub_id="sub_acme",
        status="open",
        number="ACME-0002",
        currency="jpy",
        lines=[
            line(price=catalog("bp:team:base:month:jpy"), amount=7_400, quantity=1, description="1 × Team")
        ],
    )
    deliver(event("invoice.finalized", fake_stripe.put(yen), created=T))
    row = Invoice.objects.get(stripe_invoice_id="in_yen")
    assert (row.currency, row.total, row.lines.get().amount) == ("JPY", 7_400, 7_400)


def test_a_deleted_stripe_draft_takes_its_mirror_along(team_invoice, deliver):
    deliver(event("invoice.created", team_invoice("draft"), created=T))
    deleted = {"id": "in_acme", "object": "invoice", "deleted": True}
    deliver(event("invoice.deleted", deleted, created=T + 5))
    assert not Invoice.objects.filter(stripe_invoice_id="in_acme").exists()


def test_long_invoices_get_all_their_lines(
    fake_stripe, team_invoice, deliver, django_capture_on_commit_callbacks, renders
):
    full = team_invoice("open", number="ACME-0001")
    lines = full["lines"]["data"]
    fake_stripe.invoice_lines["in_acme"] = lines
    first_page = {**full["lines"], "data": lines[:1], "has_more": True}
    fake_stripe.put({**full, "lines": first_page})
    with django_capture_on_commit_callbacks() as queued:
        deliver(event("invoice.finalized", fake_stripe.objects["in_acme"], created=T))
    assert mirror().lines.count() == 1 and len(queued) == 2  # completing the lines, and the PDF
    invoice_lines_complete(stripe_invoice_id="in_acme")  # what the queued task runs
    assert list(mirror().lines.values_list("amount", flat=True)) == [4_900, 3_600, -400]
