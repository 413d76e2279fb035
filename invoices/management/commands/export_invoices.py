from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from billing_portal.core.errors import InvalidInput
from invoices.export import invoices_export_month, month_from_string


class Command(BaseCommand):
    help = "Write a month's finalized invoices (every PDF plus a CSV register) to a ZIP file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM; invoices issued in that month (UTC).")
        parser.add_argument("--org", metavar="SLUG", help="Only this organization's invoices.")
        parser.add_argument("--out", required=True, type=Path, metavar="PATH", help="The ZIP file to write.")

    def handle(self, *args: Any, month: str, org: str | None, out: Path, **options: Any) -> None:
        try:
            year, month_number = month_from_string(month)
        except InvalidInput as error:
            raise CommandError(error.message) from error
        organization = None
        if org is not None:
            organization = Organization.objects.filter(slug=org).first()
            if organization is None:
                raise CommandError(f"There is no organization with the slug {org!r}.")
        if not out.name or out.is_dir():
            raise CommandError(f"--out names the ZIP file to write, not a folder: {str(out)!r}.")
        if not out.parent.is_dir():
            raise CommandError(f"{out.parent} is not a folder.")
        # Written beside the target and renamed at the end: a failed export never leaves a half ZIP at `out`.
        partial = out.with_name(f".{out.name}.partial")
        try:
            with partial.open("wb") as file:
                count = invoices_export_month(year=year, month=month_number, org=organization, out=file)
            partial.replace(out)
        except OSError as error:  # no room, no right to write there
            raise CommandError(f"Could not write {out}: {error.strerror or error}.") from error
        finally:
            partial.unlink(missing_ok=True)
        self.stdout.write(self.style.SUCCESS(f"Wrote {count} invoices issued in {month} to {out}."))
