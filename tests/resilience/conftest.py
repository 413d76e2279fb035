"""The Stripe tests here reuse the fake Stripe and the signed webhook endpoint of tests/stripe."""

from tests.stripe.conftest import catalog, deliver, endpoint, fake_stripe, org, team

__all__ = ["catalog", "deliver", "endpoint", "fake_stripe", "org", "team"]
