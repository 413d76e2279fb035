"""Input of the usage endpoints, parsed by hand rather than by DRF serializers: the batch endpoint takes up to
1,000 events per request, and a serializer per event would cost more than recording it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from billing_portal.core.errors import InvalidInput
from metering.services import UsageInput

_TEXT = ("user", "space", "model", "agent", "integration")
_FLAGS = {"success": True, "byok": False}


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # no offset given: UTC


def event_from_json(data: Any) -> UsageInput:
    """A UsageInput from one event object; wrong types raise InvalidInput naming every bad field."""
    if not isinstance(data, dict):
        raise InvalidInput("An event is a JSON object.", fields={"non_field_errors": ["Expected an object."]})
    errors: dict[str, list[str]] = {}
    for name in ("id", "meter"):
        if not isinstance(data.get(name), str) or not data[name]:
            errors[name] = ["A non-empty string is required."]
    quantity = data.get("quantity")
    if type(quantity) is not int:
        errors["quantity"] = ["A positive integer is required."]
    for name in _TEXT:
        if not isinstance(data.get(name, ""), str):
            errors[name] = ["Must be a string."]
    for name in ("id", "meter", *_TEXT):
        value = data.get(name)
        if isinstance(value, str) and "\x00" in value:  # PostgreSQL text cannot hold NUL
            errors[name] = ["Must not contain NUL characters."]
    for name in _FLAGS:
        if not isinstance(data.get(name, _FLAGS[name]), bool):
            errors[name] = ["Must be true or false."]
    try:
        timestamp = _timestamp(data.get("timestamp"))
    except ValueError:
        errors["timestamp"] = ["An ISO 8601 date and time is required."]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], fields=errors)
    return UsageInput(
        key=data["id"],
        meter=data["meter"],
        quantity=quantity,
        timestamp=timestamp,  # type: ignore[arg-type]
        **{name: data.get(name) or "" for name in _TEXT},
        **{name: data.get(name, default) for name, default in _FLAGS.items()},
    )
