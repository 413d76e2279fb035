from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "billing_portal.subscriptions"
    label = "subscriptions"
    verbose_name = "Subscriptions and seats"
