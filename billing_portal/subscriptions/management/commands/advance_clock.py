import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from accounts.models import Organization
from billing_portal.audit.services import Actor
from billing_portal.core.errors import BillingError
from billing_portal.subscriptions.services.clocks import org_clock_advance


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
            to = parse_datetime(options["to"])
            if to is None or to.tzinfo is None:
                raise CommandError("--to must be an ISO-8601 instant with a UTC offset.")
        else:
            if options["days"] < 0:
                raise CommandError("--days must not be negative.")
            to = org.test_clock.frozen_time + timedelta(days=options["days"])
        try:
            executions = org_clock_advance(org=org, to=to, actor=Actor.system("advance_clock"))
        except BillingError as error:
            raise CommandError(error.message) from error
        ran = [{"job": e.job, "outcome": e.outcome} for e in executions if e.processed or e.failed]
        self.stdout.write(json.dumps({"org": org.slug, "clock": to.isoformat(), "ran": ran}))
