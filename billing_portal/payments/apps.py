from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "billing_portal.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        # Connects the Stripe webhook handlers; djstripe sits earlier in INSTALLED_APPS, so its own handlers
        # (which re-fetch each object from Stripe) run first and ours read what they stored.
        from billing_portal.payments import webhooks  # noqa: F401
