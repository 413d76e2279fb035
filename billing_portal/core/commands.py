"""What management commands share: reading their options, with a CommandError for anything unusable."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import CommandError
from django.utils.dateparse import parse_datetime

LAST_YEAR = 2999  # instants past this are typos; date arithmetic near year 9999 would overflow


def instant_option(value: str, option: str) -> datetime:
    """An ISO-8601 instant with a UTC offset, e.g. 2026-03-01T00:00:00Z. parse_datetime answers None for what is
    not one, but raises ValueError for a well-formed impossible date (Feb 30)."""
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise CommandError(f"{option} must be an ISO-8601 instant with a UTC offset, e.g. 2026-03-01T00:00:00Z.")
    return instant_checked(parsed, option)


def instant_checked(moment: datetime, option: str) -> datetime:
    if moment.year > LAST_YEAR:
        raise CommandError(f"{option} must be before the year {LAST_YEAR + 1}.")
    return moment
