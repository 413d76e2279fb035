from datetime import UTC, datetime

import pytest
from djstripe.models import Customer

from billing_portal.core.errors import InvalidInput
from billing_portal.core.money import Money
from billing_portal.payments.providers import get_provider
from billing_portal.payments.providers.base import (
    CancellationUpdate,
    ChargeRequest,
    CheckoutRequest,
    CustomerUpdate,
    PaymentMethodRef,
    PaymentMethodSetupRequest,
    PlanChangeRequest,
    ProviderUnavailable,
    SeatQuantityUpdate,
)
from billing_portal.payments.stripe_customers import stripe_customer_ensure
from tests.stripe.builders import PERIOD_END, PERIOD_START

pytestmark = pytest.mark.django_db
PRORATION_AT = datetime(2026, 3, 11, 9, 30, tzinfo=UTC)


def checkout(org, plan="team", seats=3, **extra):
    return get_provider().checkout(
        CheckoutRequest(
            org_id=org.pk,
            plan_code=plan,
            interval="month",
            seats=seats,
            currency="USD",
            success_url="https://portal.test/billing/?checkout=success",
            cancel_url="https://portal.test/billing/plans/",
            customer_email=org.billing_email,
            **extra,
        )
    )


def change(org, plan, interval="month", *, at_period_end=False, key="change-1"):
    return PlanChangeRequest(
        org_id=org.pk,
        subscription_reference="sub_acme",
        plan_code=plan,
        interval=interval,
        currency="USD",
        seats=3,
        at_period_end=at_period_end,
        proration_at=PRORATION_AT,
        idempotency_key=key,
    )


def test_checkout_opens_a_subscription_session_with_base_and_seat_lines(fake_stripe, catalog, org):
    redirect = checkout(org)
    session = fake_stripe.calls("POST", "/v1/checkout/sessions")[0].params
    assert redirect.url == f"https://checkout.stripe.test/{redirect.reference}"
    assert session["mode"] == "subscription"
    assert session["line_items"] == [
        {"price": catalog("bp:team:base:month:usd")["id"], "quantity": "1"},
        {"price": catalog("bp:team:seat:month:usd")["id"], "quantity": "3"},
    ]
    assert session["metadata"] == {"org_id": str(org.pk)} == session["subscription_data"]["metadata"]
    assert session["client_reference_id"] == str(org.pk)
    assert "trial_end" not in session["subscription_data"]
    customer = Customer.objects.get(id=session["customer"])
    assert customer.subscriber == org
    created = fake_stripe.calls("POST", "/v1/customers")[0]
    assert created.params["metadata"] == {"org_id": str(org.pk), "djstripe_subscriber": str(org.pk)}
    assert created.idempotency_key == f"org:{org.pk}:customer:test"


def test_a_second_checkout_reuses_the_customer_and_plans_without_seats_have_one_line(
    fake_stripe, catalog, org
):
    checkout(org)
    checkout(org, plan="pro", seats=4)
    assert len(fake_stripe.calls("POST", "/v1/customers")) == 1
    assert fake_stripe.calls("POST", "/v1/checkout/sessions")[1].params["line_items"] == [
        {"price": catalog("bp:pro:base:month:usd")["id"], "quantity": "1"}
    ]


def test_a_local_trial_continues_in_stripe_when_checkout_allows_it(fake_stripe, catalog, org):
    trial_end = datetime(2099, 1, 15, tzinfo=UTC)
    checkout(org, trial_end=trial_end)
    assert fake_stripe.calls("POST", "/v1/checkout/sessions")[0].params["subscription_data"][
        "trial_end"
    ] == str(int(trial_end.timestamp()))


def test_plans_not_in_stripe_cannot_be_checked_out(fake_stripe, catalog, org):
    with pytest.raises(InvalidInput, match="not set up for online payment"):
        checkout(org, plan="enterprise")


def test_payment_method_setup_uses_checkout_in_setup_mode(fake_stripe, catalog, org):
    redirect = get_provider().payment_method_setup(
        PaymentMethodSetupRequest(
            org_id=org.pk, return_url="https://portal.test/billing/payment/", customer_email=org.billing_email
        )
    )
    params = fake_stripe.calls("POST", "/v1/checkout/sessions")[0].params
    assert (params["mode"], params["currency"], params["success_url"]) == (
        "setup",
        "usd",
        "https://portal.test/billing/payment/",
    )
    assert params["setup_intent_data"]["metadata"] == {"org_id": str(org.pk)}
    assert redirect.url.endswith(redirect.reference)


def test_seat_changes_set_the_seat_item_quantity_with_prorations(fake_stripe, team, org):
    get_provider().set_seat_quantity(
        SeatQuantityUpdate(
            org_id=org.pk, subscription_reference="sub_acme", quantity=5, idempotency_key="seats:acme:7"
        )
    )
    [call] = fake_stripe.calls("POST", "/v1/subscription_items/si_sub_acme_1")
    assert call.params == {"quantity": "5", "proration_behavior": "create_prorations"}
    assert call.idempotency_key == "seats:acme:7"


def test_cancel_and_resume_set_cancel_at_period_end(fake_stripe, team, org):
    provider = get_provider()
    provider.set_cancellation(cancellation(org, True, "cancel-1"))
    provider.set_cancellation(cancellation(org, False, "resume-1"))
    calls = fake_stripe.calls("POST", "/v1/subscriptions/sub_acme")
    assert [(c.params, c.idempotency_key) for c in calls] == [
        ({"cancel_at_period_end": "true"}, "cancel-1"),
        ({"cancel_at_period_end": "false"}, "resume-1"),
    ]


def test_customer_details_are_pushed_to_the_stripe_customer(fake_stripe, catalog, org):
    details = CustomerUpdate(
        org_id=org.pk,
        name="Acme GmbH",
        email="ap@acme.test",
        tax_id="DE123456789",
        address="Unter den Linden 1\n10117 Berlin",
        country="DE",
    )
    before = len(fake_stripe.requests)
    get_provider().update_customer(details)
    assert (
        fake_stripe.requests[before:] == []
    )  # no Stripe customer yet: created with these details at checkout
    customer = stripe_customer_ensure(org)
    get_provider().update_customer(details)
    get_provider().update_customer(details)
    first, second = fake_stripe.calls("POST", f"/v1/customers/{customer}")
    assert first.params == {
        "name": "Acme GmbH",
        "email": "ap@acme.test",
        "address": {"line1": "Unter den Linden 1", "line2": "10117 Berlin", "country": "DE"},
        "invoice_settings": {"custom_fields": [{"name": "Tax ID", "value": "DE123456789"}]},
    }
    assert second.params == first.params
    assert "" != first.idempotency_key != second.idempotency_key  # a later push is never a replay of an earlier one


def test_upgrade_preview_asks_stripe_for_exactly_what_the_change_then_charges(
    fake_stripe, team, org, catalog
):
    fake_stripe.preview = {
        "object": "invoice",
        "currency": "usd",
        "total": 4_356,
        "amount_due": 4_356,
        "total_taxes": [],
        "lines": {
            "object": "list",
            "data": [
                {"description": "Unused time on Team", "amount": -3_403, "period": {"start": 1, "end": 2}},
                {
                    "description": "Remaining time on Business",
                    "amount": 7_759,
                    "period": {"start": 1, "end": 2},
                },
            ],
        },
    }
    provider = get_provider()
    quote = provider.preview_plan_change(change(org, "business"))
    provider.change_plan(change(org, "business"))
    assert (
        quote.amount_due
        == Money(4_356, "USD")
        == sum((line.amount for line in quote.lines), Money.zero("USD"))
    )
    preview = fake_stripe.calls("POST", "/v1/invoices/create_preview")[0].params
    update = fake_stripe.calls("POST", "/v1/subscriptions/sub_acme")[0]
    expected_items = [
        {"id": "si_sub_acme_0", "price": catalog("bp:business:base:month:usd")["id"], "quantity": "1"},
        {"id": "si_sub_acme_1", "deleted": "true"},
    ]  # Business bills no seats
    assert preview["subscription_details"] == {
        "items": expected_items,
        "proration_behavior": "always_invoice",
        "proration_date": str(int(PRORATION_AT.timestamp())),
    }
    assert update.params == {
        "items": expected_items,
        "cancel_at_period_end": "false",
        "proration_behavior": "always_invoice",
        "proration_date": str(int(PRORATION_AT.timestamp())),
        "payment_behavior": "error_if_incomplete",
    }
    assert update.idempotency_key == "change-1"


def test_downgrades_wait_for_the_period_end_in_a_subscription_schedule(fake_stripe, team, org, catalog):
    provider = get_provider()
    quote = provider.preview_plan_change(change(org, "starter", at_period_end=True))
    assert (quote.amount_due, quote.lines) == (Money.zero("USD"), ())
    provider.change_plan(change(org, "starter", at_period_end=True))
    [created] = fake_stripe.calls("POST", "/v1/subscription_schedules")
    assert created.params == {"from_subscription": "sub_acme"}
    schedule_id = fake_stripe.objects["sub_acme"]["schedule"]
    [phases] = fake_stripe.calls("POST", f"/v1/subscription_schedules/{schedule_id}")
    assert phases.params["end_behavior"] == "release"
    assert phases.params["phases"] == [
        {
            "start_date": str(PERIOD_START),
            "end_date": str(PERIOD_END),
            "proration_behavior": "none",
            "items": [
                {"price": catalog("bp:team:base:month:usd")["id"], "quantity": "1"},
                {"price": catalog("bp:team:seat:month:usd")["id"], "quantity": "3"},
            ],
        },
        {
            "items": [{"price": catalog("bp:starter:base:month:usd")["id"], "quantity": "1"}],
            "proration_behavior": "none",
            "duration": {"interval": "month", "interval_count": "1"},
        },
    ]
    assert (
        fake_stripe.calls("POST", "/v1/subscriptions/sub_acme") == []
    )  # nothing changes before the period end


def test_while_a_downgrade_is_scheduled_seats_rewrite_the_schedule_and_undo_releases_it(
    fake_stripe, team, org, catalog
):
    provider = get_provider()
    provider.change_plan(change(org, "team", at_period_end=True, key="to-team-seats"))
    assert (
        fake_stripe.calls("POST", "/v1/subscription_schedules") == []
    )  # already on these items: nothing to do
    provider.change_plan(change(org, "pro", at_period_end=True))
    schedule_id = fake_stripe.objects["sub_acme"]["schedule"]
    provider.set_seat_quantity(
        SeatQuantityUpdate(
            org_id=org.pk, subscription_reference="sub_acme", quantity=6, idempotency_key="seats-6"
        )
    )
    rewrite = fake_stripe.calls("POST", f"/v1/subscription_schedules/{schedule_id}")[-1]
    assert rewrite.idempotency_key == "seats-6"
    assert [item["quantity"] for item in rewrite.params["phases"][0]["items"]] == ["1", "6"]
    assert fake_stripe.calls("POST", "/v1/subscription_items/si_sub_acme_1") == []
    provider.change_plan(change(org, "team", at_period_end=True, key="undo"))
    [release] = fake_stripe.calls("POST", f"/v1/subscription_schedules/{schedule_id}/release")
    assert release.idempotency_key == "undo:release"


def test_cancelling_replaces_a_scheduled_downgrade(fake_stripe, team, org):
    provider = get_provider()
    provider.change_plan(change(org, "starter", at_period_end=True))
    schedule_id = fake_stripe.objects["sub_acme"]["schedule"]
    provider.set_cancellation(cancellation(org, True, "cancel-2"))
    assert [r.path for r in fake_stripe.writes()][-2:] == [
        f"/v1/subscription_schedules/{schedule_id}/release",
        "/v1/subscriptions/sub_acme",
    ]


def cancellation(org, cancel, key):
    return CancellationUpdate(
        org_id=org.pk, subscription_reference="sub_acme", cancel_at_period_end=cancel, idempotency_key=key
    )


def charge(org, invoice_reference="in_open", on_session=False):
    return get_provider().charge(
        ChargeRequest(
            org_id=org.pk,
            amount=Money(4_900, "USD"),
            description="Invoice",
            idempotency_key="invoice:9:attempt:2",
            payment_method=PaymentMethodRef(),
            on_session=on_session,
            invoice_reference=invoice_reference,
        )
    )


def test_charge_pays_the_open_stripe_invoice(fake_stripe, org):
    fake_stripe.put({"id": "in_open", "object": "invoice", "status": "open"})
    result = charge(org, on_session=True)
    [call] = fake_stripe.calls("POST", "/v1/invoices/in_open/pay")
    assert (call.params, call.idempotency_key) == ({"off_session": "false"}, "invoice:9:attempt:2")
    assert (result.succeeded, result.reference) == (True, "in_open")


def test_a_declined_card_is_a_failed_charge_and_nothing_else(fake_stripe, org):
    fake_stripe.fail(
        "POST", "/v1/invoices/in_open/pay", 402, "card_declined", "Your card was declined.", "card_error"
    )
    result = charge(org)
    assert (result.succeeded, result.failure_code) == (False, "card_declined")
    assert charge(org, invoice_reference="").failure_code == "no_payment_method"  # a portal invoice, no card


def test_a_portal_invoice_is_charged_to_the_saved_card_with_a_payment_intent(fake_stripe, org):
    customer = stripe_customer_ensure(org)
    card = PaymentMethodRef(stripe_payment_method_id="pm_card")
    request = ChargeRequest(org_id=org.pk, amount=Money(1_000, "JPY"), description="1,000 credits",
                            idempotency_key="invoice:12:attempt:1", payment_method=card, on_session=True)  # fmt: skip
    result = get_provider().charge(request)
    [call] = fake_stripe.calls("POST", "/v1/payment_intents")
    assert call.params == {
        "amount": "1000",  # minor units; yen have none
        "currency": "jpy",
        "customer": customer,
        "payment_method": "pm_card",
        "payment_method_types": ["card"],
        "confirm": "true",
        "off_session": "false",
        "description": "1,000 credits",
    }
    assert call.idempotency_key == "invoice:12:attempt:1"
    assert result.succeeded and result.reference.startswith("pi_")
    fake_stripe.fail("POST", "/v1/payment_intents", 402, "card_declined", "Your card was declined.", "card_error")
    declined = get_provider().charge(request)
    assert (declined.succeeded, declined.failure_code) == (False, "card_declined")


def test_stripe_outages_are_provider_unavailable(fake_stripe, team, org):
    fake_stripe.fail(
        "POST", "/v1/subscriptions/sub_acme", 500, "api_error", "Something went wrong", "api_error"
    )
    with pytest.raises(ProviderUnavailable):
        get_provider().set_cancellation(cancellation(org, False, "k"))
