import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from billing_portal.core import clock
from billing_portal.subscriptions.jobs import run_due_jobs


class Command(BaseCommand):
    help = "Run every due billing job once, as beat would (orgs with a test clock follow their own clock)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", metavar="ISO-8601", help="Act as if real time were this instant.")

    def handle(self, *args: Any, **options: Any) -> None:
        at = clock.now()
        if options["now"]:
            parsed = parse_datetime(options["now"])
            if parsed is None or parsed.tzinfo is None:
                raise CommandError("--now must be an ISO-8601 instant with a UTC offset, e.g. 2026-03-01T00:00:00Z.")
            at = parsed
        with clock.running_at(at):
            executions = run_due_jobs()
        summary = [{"job": e.job, "processed": e.processed, "failed": e.failed, "outcome": e.outcome}
                   for e in executions]
        self.stdout.write(json.dumps({"now": at.isoformat(), "runs": summary}))
