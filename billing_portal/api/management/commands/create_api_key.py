"""Issue an org API key from the command line: the key goes to stdout, alone, and is never shown again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from billing_portal.api.keys import api_key_create
from billing_portal.api.models import KeyKind, Scope
from billing_portal.audit.services import Actor
from billing_portal.core.errors import BillingError


class Command(BaseCommand):
    help = "Create an API key for an organization and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, metavar="SLUG")
        parser.add_argument(
            "--test", action="store_true", help="A test key (bp_test_...): usage is logged, never counted."
        )
        parser.add_argument(
            "--scopes",
            default=Scope.USAGE,
            help=f"Comma-separated, of {', '.join(Scope.values)} (default: usage).",
        )
        parser.add_argument("--name", default="Command-line key")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(slug=options["org"], purged_at__isnull=True).first()
        if org is None:
            raise CommandError(f"No organization with the slug {options['org']!r}.")
        scopes = [scope.strip() for scope in options["scopes"].split(",") if scope.strip()]
        try:
            key, secret = api_key_create(
                org=org,
                name=options["name"],
                kind=KeyKind.TEST if options["test"] else KeyKind.LIVE,
                scopes=scopes,
                actor=Actor.system("create_api_key"),
                may_grant_billing_write=True,
            )
        except BillingError as error:
            problems = [problem for field in error.fields.values() for problem in field]
            raise CommandError(" ".join([error.message, *problems])) from error
        self.stdout.write(secret)
        self.stderr.write(
            f"{key.get_kind_display()} key {key.prefix}… for {org.slug} with {', '.join(key.scopes)}. "
            "Store it now: it is not shown again."
        )
