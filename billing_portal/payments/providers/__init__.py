from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from billing_portal.payments.providers.base import PaymentProvider

PROVIDERS = {
    "local": "billing_portal.payments.providers.local.LocalProvider",
    "stripe": "billing_portal.payments.providers.stripe.StripeProvider",
}


def get_provider() -> PaymentProvider:
    """The provider chosen by the BILLING_PROVIDER setting."""
    try:
        path = PROVIDERS[settings.BILLING_PROVIDER]
    except KeyError:
        raise ValueError(f"Unknown BILLING_PROVIDER {settings.BILLING_PROVIDER!r}") from None
    provider: PaymentProvider = import_string(path)()
    return provider
