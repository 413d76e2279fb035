import json
from datetime import UTC, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from billing_portal.audit.services import Actor
from billing_portal.core.commands import instant_checked, instant_option
from billing_portal.core.errors import BillingError
from billing_portal.subscriptions.services.clocks import org_clock_advance

MAX_DAYS = 36_500  # a hundred years


class Command(BaseCommand):
    help = "Move an org's test clock forward and run that org's due billing jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, metavar="SLUG")
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--to", metavar="ISO-8601")
        target.add_argument("--days", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.select_related("test_clock").filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"No organization with slug {options['org']!r}.")
        if org.test_clock is None:
            raise CommandError(f"{org.slug} has no test clock; create it with create_org --test-clock.")
        if options["to"]:
            to = instant_option(options["to"], "--to")
        else:
            if not 0 <= options["days"] <= MAX_DAYS:
                raise CommandError(f"--days must be 0 to {MAX_DAYS:,}.")
            # Days on the org's calendar: across a DST change a day is 23 or 25 hours, and renewals keep the hour.
            local = org.test_clock.frozen_time.astimezone(org.tz) + timedelta(days=options["days"])
            to = instant_checked(local.astimezone(UTC), "--days")
        try:
            executions = org_clock_advance(org=org, to=to, actor=Actor.system("advance_clock"))
        except BillingError as error:
            raise CommandError(error.message) from error
        ran = [{"job": e.job, "outcome": e.outcome} for e in executions if e.processed or e.failed]
        self.stdout.write(json.dumps({"org": org.slug, "clock": to.isoformat(), "ran": ran}))
