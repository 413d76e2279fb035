from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "billing_portal.catalog"
    label = "catalog"
    verbose_name = "Plan catalog"
