import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from billing_portal.core import clock
from billing_portal.core.commands import instant_option
from billing_portal.subscriptions.jobs import run_due_jobs


class Command(BaseCommand):
    help = "Run every due billing job once, as beat would (orgs with a test clock follow their own clock)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", metavar="ISO-8601", help="Act as if real time were this instant.")

    def handle(self, *args: Any, **options: Any) -> None:
        at = clock.now()
        if options["now"]:
            at = instant_option(options["now"], "--now")
        with clock.running_at(at):
            executions = run_due_jobs()
        summary = [{"job": e.job, "processed": e.processed, "failed": e.failed, "outcome": e.outcome}
                   for e in executions]
        self.stdout.write(json.dumps({"now": at.isoformat(), "runs": summary}))
