from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "billing_portal.portal"
    label = "portal"
    verbose_name = "Billing portal"
