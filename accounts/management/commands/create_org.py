"""Create an org with its OWNER and subscription; prints one JSON object."""

from __future__ import annotations

import json
import zoneinfo
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts import services
from accounts.models import User
from billing_portal.audit.services import Actor
from billing_portal.catalog.models import Interval, Plan
from billing_portal.catalog.selectors import plan_is_free
from billing_portal.core.commands import instant_option
from billing_portal.core.errors import BillingError
from billing_portal.payments.models import TestCard


class Command(BaseCommand):
    help = "Create an organization with an owner (created if new) on a plan, optionally on a test clock."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--password", help="Password for a new owner; without it the owner cannot sign in.")
        parser.add_argument("--plan", help="Plan code; the catalog's sign-up plan when omitted.")
        parser.add_argument("--interval", choices=Interval.values, default=Interval.MONTH)
        parser.add_argument("--no-trial", action="store_true", help="Start a paid plan at once, without its trial.")
        parser.add_argument(
            "--card", choices=TestCard.values,
            help="Attach a local test card first (default: 'succeeds' when a paid plan starts without a trial).",
        )
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument("--currency", default="USD")
        parser.add_argument("--test-clock", metavar="ISO-8601", help="Attach a test clock frozen at this instant.")

    @staticmethod
    def _default_card(plan: Plan | None, options: dict[str, Any]) -> str:
        paid_now = plan is not None and options["no_trial"] and not plan_is_free(plan, options["currency"])
        return TestCard.SUCCEEDS if paid_now else ""

    def handle(self, *args: Any, **options: Any) -> None:
        if options["timezone"] not in zoneinfo.available_timezones():
            raise CommandError(f"Unknown time zone {options['timezone']!r}.")
        clock_at = None
        if options["test_clock"]:
            clock_at = instant_option(options["test_clock"], "--test-clock")
        plan = None
        if options["plan"]:
            plan = Plan.objects.filter(code=options["plan"]).first()
            if plan is None:
                codes = ", ".join(Plan.objects.values_list("code", flat=True))
                raise CommandError(f"Unknown plan {options['plan']!r}; choose one of: {codes}.")
        email = options["owner_email"].strip().lower()
        actor = Actor.system("create_org")
        try:
            with transaction.atomic():  # an org refused leaves no new user behind
                owner = User.objects.filter(email__iexact=email).first() or services.user_create(
                    email=email, password=options["password"]
                )
                org = services.org_sign_up(
                    name=options["name"],
                    owner=owner,
                    actor=actor,
                    plan=plan,
                    interval=options["interval"],
                    trial=not options["no_trial"],
                    test_card=options["card"] or self._default_card(plan, options),
                    timezone=options["timezone"],
                    currency=options["currency"],
                    test_clock_at=clock_at,
                )
        except BillingError as error:
            raise CommandError(error.message) from error
        except ValueError as error:
            raise CommandError(str(error)) from error
        subscription = org.subscription
        self.stdout.write(
            json.dumps(
                {
                    "org_id": org.pk,
                    "slug": org.slug,
                    "owner_email": owner.email,
                    "plan": subscription.plan.code,
                    "interval": subscription.interval,
                    "status": subscription.status,
                    "current_period_end": subscription.current_period_end.isoformat(),
                    "trial_end": subscription.trial_end.isoformat() if subscription.trial_end else None,
                    "invoices": list(org.invoices.values_list("number", flat=True)),
                    "test_clock": org.test_clock.frozen_time.isoformat() if org.test_clock else None,
                }
            )
        )
