from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "billing_portal.core"
    label = "core"
    verbose_name = "Core"
