import pytest
from djstripe.models import Event

from accounts.models import Membership, Role
from billing_portal.audit.models import AuditEntry
from billing_portal.audit.services import Actor
from billing_portal.payments.models import PaymentMethod, StripeEventReceipt
from billing_portal.payments.services import payment_method_default
from billing_portal.payments.stripe_customers import payment_method_adopt
from billing_portal.payments.tasks import stripe_payment_method_adopt
from billing_portal.subscriptions.models import SeatChange, Status, Subscription
from billing_portal.subscriptions.services.closure import org_request_closure
from tests.stripe.builders import PERIOD_END, PERIOD_START, event, signature

pytestmark = pytest.mark.django_db
T = PERIOD_START + 3_600


def local(org):
    return Subscription.objects.select_related("plan", "scheduled_plan").get(org=org)


def completed_checkout(fake_stripe, org, customer):
    return fake_stripe.put(
        {
            "id": "cs_acme",
            "object": "checkout.session",
            "mode": "subscription",
            "status": "complete",
            "customer": customer,
            "subscription": "sub_acme",
            "metadata": {"org_id": str(org.pk)},
            "client_reference_id": str(org.pk),
            "livemode": False,
            "created": T,
            "url": None,
        }
    )


def test_a_completed_checkout_puts_the_org_on_the_stripe_subscription(fake_stripe, team, deliver, org):
    session = completed_checkout(fake_stripe, org, team()["customer"])
    response = deliver(event("checkout.session.completed", session, created=T, event_id="evt_checkout"))
    assert response.status_code == 200
    sub = local(org)
    assert (sub.plan.code, sub.interval, sub.status, sub.seat_quantity) == ("team", "month", Status.ACTIVE, 3)
    assert sub.stripe_subscription_id == "sub_acme"
    assert (int(sub.current_period_start.timestamp()), int(sub.current_period_end.timestamp())) == (
        PERIOD_START,
        PERIOD_END,
    )
    assert int(sub.stripe_state_at.timestamp()) == T
    entry = AuditEntry.objects.get(action="subscription.stripe_synced")
    assert (entry.actor_kind, entry.actor_label) == ("stripe", "evt_checkout")
    assert entry.after["plan"] == str(sub.plan.pk) and entry.before["plan"] != entry.after["plan"]
    assert SeatChange.objects.get(idempotency_key="stripe:evt_checkout:seats").quantity == 3


def test_subscription_updates_apply_status_seats_and_cancellation(fake_stripe, team, deliver, org):
    deliver(
        event(
            "customer.subscription.updated",
            team(status="past_due", cancel_at_period_end=True, seats=5),
            created=T,
        )
    )
    sub = local(org)
    assert (sub.status, sub.seat_quantity, sub.cancel_at_period_end) == (Status.PAST_DUE, 5, True)
    assert sub.past_due_since is not None


@pytest.mark.parametrize(
    ("stripe_status", "ours"),
    [("unpaid", Status.PAUSED), ("paused", Status.PAUSED), ("trialing", Status.TRIALING)],
)
def test_stripe_statuses_map_to_ours(fake_stripe, team, deliver, org, stripe_status, ours):
    deliver(event("customer.subscription.updated", team(status=stripe_status), created=T))
    assert local(org).status == ours


def test_an_ended_subscription_moves_the_org_to_free(fake_stripe, team, deliver, org):
    deliver(event("customer.subscription.created", team(), created=T))
    assert local(org).plan.code == "team"
    deliver(event("customer.subscription.deleted", team(status="canceled"), created=T + 60))
    sub = local(org)
    assert (sub.plan.code, sub.status, sub.stripe_subscription_id) == ("free", Status.ACTIVE, "")


def test_a_closed_account_stays_closed_when_its_stripe_subscription_ends(fake_stripe, team, deliver, org):
    deliver(event("customer.subscription.created", team(), created=T))
    org_request_closure(org=org, by=Membership.objects.get(org=org, role=Role.OWNER), actor=Actor.system("tests"))
    deliver(event("customer.subscription.deleted", team(status="canceled"), created=T + 60))
    sub = local(org)
    assert (sub.plan.code, sub.status, sub.stripe_subscription_id) == ("team", Status.CANCELED, "")
    assert StripeEventReceipt.objects.get(event_type="customer.subscription.deleted").note == (
        "ended; the account is closed"
    )


def test_a_first_payment_still_pending_changes_nothing(fake_stripe, team, deliver, org):
    deliver(event("customer.subscription.created", team(status="incomplete"), created=T))
    sub = local(org)
    assert (sub.plan.code, sub.stripe_subscription_id) == ("free", "")
    assert StripeEventReceipt.objects.get().outcome == "ignored"


def test_bad_signatures_are_rejected_with_nothing_changed(fake_stripe, team, deliver, org):
    before = (local(org).updated_at, AuditEntry.objects.count())
    forged = event("customer.subscription.created", team(), created=T)
    responses = [
        deliver(forged, sign=lambda payload: signature(payload, secret="whsec_someone_else")),
        deliver(forged, sign=lambda payload: signature(payload + " ")),  # body changed after signing
        deliver(forged, sign=lambda payload: signature(payload, at=int(T))),  # outside the replay tolerance
    ]
    assert [r.status_code for r in responses] == [400, 400, 400]
    assert (local(org).updated_at, AuditEntry.objects.count()) == before
    assert (Event.objects.count(), StripeEventReceipt.objects.count()) == (0, 0)
    assert local(org).plan.code == "free"


def test_a_replayed_event_changes_nothing(fake_stripe, team, deliver, org):
    created = event("customer.subscription.created", team(), created=T, event_id="evt_once")
    deliver(created)
    state = (local(org).updated_at, AuditEntry.objects.count(), SeatChange.objects.count())
    team(seats=9)
    assert deliver(created).status_code == 200
    assert (local(org).updated_at, AuditEntry.objects.count(), SeatChange.objects.count()) == state
    assert local(org).seat_quantity == 3
    assert StripeEventReceipt.objects.filter(event_id="evt_once").count() == 1


def test_an_older_event_delivered_late_never_moves_state_backwards(fake_stripe, team, deliver, org):
    newer = team(seats=4, cancel_at_period_end=True)
    deliver(event("customer.subscription.updated", newer, created=T + 20, event_id="evt_newer"))
    # The older event's processing read Stripe before the newer change (e.g. a delivery that raced it).
    older = team(seats=3, cancel_at_period_end=False)
    assert (
        deliver(
            event("customer.subscription.updated", older, created=T + 10, event_id="evt_older")
        ).status_code
        == 200
    )
    sub = local(org)
    assert (sub.seat_quantity, sub.cancel_at_period_end, int(sub.stripe_state_at.timestamp())) == (
        4,
        True,
        T + 20,
    )
    assert StripeEventReceipt.objects.get(event_id="evt_older").outcome == "stale"


def test_a_scheduled_downgrade_shows_as_the_scheduled_plan(fake_stripe, team, deliver, org, catalog):
    deliver(event("customer.subscription.created", team(), created=T))
    schedule = fake_stripe.put(
        {
            "id": "sub_sched_acme",
            "object": "subscription_schedule",
            "subscription": "sub_acme",
            "customer": team()["customer"],
            "status": "active",
            "end_behavior": "release",
            "livemode": False,
            "created": T,
            "metadata": {},
            "current_phase": {"start_date": PERIOD_START, "end_date": PERIOD_END},
            "phases": [
                {
                    "start_date": PERIOD_START,
                    "end_date": PERIOD_END,
                    "items": [{"price": catalog("bp:team:base:month:usd")["id"], "quantity": 1}],
                },
                {
                    "start_date": PERIOD_END,
                    "end_date": PERIOD_END + 30 * 86_400,
                    "items": [{"price": catalog("bp:starter:base:month:usd")["id"], "quantity": 1}],
                },
            ],
        }
    )
    deliver(event("subscription_schedule.created", schedule, created=T + 5))
    deliver(event("customer.subscription.updated", team(schedule="sub_sched_acme"), created=T + 5))
    sub = local(org)
    assert (sub.plan.code, sub.scheduled_plan.code, sub.scheduled_interval) == ("team", "starter", "month")
    schedule.update(status="released", subscription=None, released_subscription="sub_acme")
    deliver(event("subscription_schedule.released", schedule, created=T + 50))
    assert local(org).scheduled_plan is None


def test_a_setup_checkout_makes_the_new_card_the_default(
    fake_stripe, team, deliver, org, django_capture_on_commit_callbacks
):
    deliver(event("customer.subscription.created", team(), created=T))
    customer = team()["customer"]
    fake_stripe.put(
        {
            "id": "pm_new",
            "object": "payment_method",
            "type": "card",
            "customer": customer,
            "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2031},
            "livemode": False,
            "created": T,
            "metadata": {},
            "billing_details": {},
        }
    )
    fake_stripe.put(
        {
            "id": "seti_new",
            "object": "setup_intent",
            "customer": customer,
            "payment_method": "pm_new",
            "status": "succeeded",
            "livemode": False,
            "created": T,
            "metadata": {},
            "payment_method_types": ["card"],
            "usage": "off_session",
        }
    )
    session = fake_stripe.put(
        {
            "id": "cs_setup",
            "object": "checkout.session",
            "mode": "setup",
            "status": "complete",
            "customer": customer,
            "setup_intent": "seti_new",
            "metadata": {"org_id": str(org.pk)},
            "livemode": False,
            "created": T,
        }
    )
    with django_capture_on_commit_callbacks() as callbacks:
        deliver(event("checkout.session.completed", session, created=T + 1))
    assert len(callbacks) == 1
    stripe_payment_method_adopt(org.pk, "pm_new")  # what the queued Celery task runs
    stripe_payment_method_adopt(org.pk, "pm_new")  # a retried task changes nothing more
    method = PaymentMethod.objects.get(org=org, is_default=True)
    assert (method.provider, method.brand, method.last4, method.stripe_payment_method_id) == (
        "stripe",
        "Visa",
        "4242",
        "pm_new",
    )
    assert PaymentMethod.objects.filter(org=org).count() == 1
    customer_update = fake_stripe.calls("POST", f"/v1/customers/{customer}")[0]
    assert customer_update.params == {"invoice_settings": {"default_payment_method": "pm_new"}}
    assert fake_stripe.calls("POST", "/v1/subscriptions/sub_acme")[0].params == {
        "default_payment_method": "pm_new"
    }


def _card(customer, **card):
    return {
        "id": "pm_kept",
        "object": "payment_method",
        "type": "card",
        "customer": customer,
        "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2027, **card},
        "livemode": False,
        "created": T,
        "metadata": {},
        "billing_details": {},
    }


def test_cards_updated_or_detached_in_stripe_follow_in_the_portal(fake_stripe, team, deliver, org):
    deliver(event("customer.subscription.created", team(), created=T))
    customer = team()["customer"]
    fake_stripe.put(_card(customer))
    payment_method_adopt(org=org, payment_method_id="pm_kept", actor=Actor.system("tests"))
    renewed = fake_stripe.put(_card(customer, exp_year=2031, last4="1881"))  # the card network's new card
    deliver(event("payment_method.automatically_updated", renewed, created=T + 10))
    method = PaymentMethod.objects.get(stripe_payment_method_id="pm_kept")
    assert (str(method), method.exp_month, method.exp_year, method.is_default) == ("Visa •••• 1881", 12, 2031, True)
    older = event("payment_method.updated", _card(customer, exp_year=2029), created=T + 5)
    deliver(older)  # delivered late: behind the update already applied
    assert PaymentMethod.objects.get(pk=method.pk).exp_year == 2031
    assert StripeEventReceipt.objects.get(event_id=older["id"]).outcome == "stale"
    detached = fake_stripe.put(_card(None, exp_year=2031, last4="1881"))
    deliver(event("payment_method.detached", detached, created=T + 20))
    method.refresh_from_db()
    assert method.detached_at is not None and not method.is_default
    assert payment_method_default(org) is None  # the next renewal has no card: dunning, as in Stripe
    assert list(AuditEntry.objects.filter(org=org, action__startswith="payment_method.").values_list(
        "action", flat=True).order_by("pk")) == ["payment_method.changed", "payment_method.updated",
                                                 "payment_method.detached"]  # fmt: skip
