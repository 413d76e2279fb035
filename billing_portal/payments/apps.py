from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "billing_portal.payments"
    label = "payments"
    verbose_name = "Payments"
