"""API test set-up: Stripe mode runs against the fake Stripe of tests/stripe (its Acme is `org`, on Free)."""

from tests.stripe.conftest import catalog, fake_stripe, org, team  # noqa: F401  (fixtures)
