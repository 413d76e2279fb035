"""Create or update the Stripe Products and Prices of the plan catalog (safe to run again at any time)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing_portal.audit.services import Actor
from billing_portal.core.errors import BillingError
from billing_portal.payments.stripe_catalog import stripe_catalog_sync


class Command(BaseCommand):
    help = "Sync the plan catalog to Stripe Products and Prices (by lookup key) and record the price mapping."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.BILLING_PROVIDER != "stripe":
            raise CommandError("BILLING_PROVIDER is not 'stripe': set a Stripe secret key first.")
        try:
            result = stripe_catalog_sync(actor=Actor.system("sync_stripe_catalog"))
        except BillingError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            f"Stripe catalog: {result.created} price(s) created or re-mapped, {result.unchanged} unchanged, "
            f"{result.retired} retired."
        )
