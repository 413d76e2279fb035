from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"
    label = "invoices"
    verbose_name = "Invoices"
