import pytest
from django.core.management import CommandError, call_command

from billing_portal.catalog.models import PlanPrice
from billing_portal.payments.models import StripePrice

pytestmark = pytest.mark.django_db

# Priced components of the default catalog: (plan, component) -> currencies x intervals; Free and Enterprise
# (contact sales) have none.
PRICED = {("starter", "base"), ("pro", "base"), ("team", "base"), ("team", "seat"), ("business", "base")}


def test_sync_creates_a_product_per_component_and_a_price_per_currency_and_interval(fake_stripe, catalog):
    products = {o["id"] for o in fake_stripe.objects.values() if o["object"] == "product"}
    assert products == {f"bp_{plan}_{component}" for plan, component in PRICED}
    prices = [o for o in fake_stripe.objects.values() if o["object"] == "price"]
    assert len(prices) == len(PRICED) * 3 * 2 == StripePrice.objects.filter(is_current=True).count()
    seat = catalog("bp:team:seat:month:jpy")
    assert (seat["unit_amount"], seat["currency"], seat["recurring"]["interval"], seat["product"]) == (
        1_800,
        "jpy",
        "month",
        "bp_team_seat",
    )  # zero-decimal: yen are passed as they are
    assert catalog("bp:team:base:year:usd")["unit_amount"] == 46_800
    row = StripePrice.objects.get(stripe_price_id=seat["id"])
    assert (row.plan.code, row.currency, row.interval, row.component, row.unit_amount) == (
        "team",
        "JPY",
        "month",
        "seat",
        1_800,
    )


def test_sync_again_changes_nothing(fake_stripe, catalog):
    before = len(fake_stripe.writes())
    call_command("sync_stripe_catalog", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert fake_stripe.writes()[before:] == []
    assert StripePrice.objects.count() == len(PRICED) * 6


def test_a_new_amount_makes_a_new_price_that_takes_the_lookup_key(fake_stripe, catalog):
    old = catalog("bp:pro:base:month:usd")
    PlanPrice.objects.filter(plan__code="pro", currency="USD").update(price_month=5_900)
    call_command("sync_stripe_catalog", stdout=open("/dev/null", "w"))  # noqa: SIM115
    new = catalog("bp:pro:base:month:usd")
    assert new["id"] != old["id"] and new["unit_amount"] == 5_900
    created = fake_stripe.calls("POST", "/v1/prices")[-1]
    assert created.params["transfer_lookup_key"] == "true"
    assert created.idempotency_key == f"price:bp:pro:base:month:usd:5900:{old['id']}"  # the price it replaces
    assert fake_stripe.calls("POST", f"/v1/prices/{old['id']}")[0].params == {"active": "false"}
    # Subscriptions still on the old price keep mapping to Pro.
    assert StripePrice.objects.get(stripe_price_id=old["id"]).plan.code == "pro"
    assert StripePrice.objects.get(stripe_price_id=new["id"], is_current=True).unit_amount == 5_900


def test_the_command_needs_stripe_mode(settings):
    settings.BILLING_PROVIDER = "local"
    with pytest.raises(CommandError, match="not 'stripe'"):
        call_command("sync_stripe_catalog")
