from typing import Any

from django.core.management.base import BaseCommand

from billing_portal.portal.demo import DEMO_PASSWORD, seed


class Command(BaseCommand):
    help = "Create demo orgs, members, usage and invoices (once; running it again changes nothing)."

    def handle(self, *args: Any, **options: Any) -> None:
        logins = seed()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in at http://127.0.0.1:8000/ with:"))
        for email, what in logins:
            self.stdout.write(f"  {email:<22} {DEMO_PASSWORD}   {what}")
