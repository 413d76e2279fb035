"""Domain errors carry a machine code and a human message; views and the API turn them into 4xx answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.forms import BaseForm


class BillingError(Exception):
    code = "billing_error"
    status = 400
    retry_after: int | None = None  # seconds, when waiting is the way out (answered as Retry-After)

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}

    def show_on(self, form: BaseForm) -> None:
        """The message at the form's top unless a field says the same; each field's problems under that field
        (at the top when the form has no such field)."""
        if not any(self.message in problems for problems in self.fields.values()):
            form.add_error(None, self.message)
        for name, problems in self.fields.items():
            form.add_error(name if name in form.fields else None, problems)


class InvalidInput(BillingError):
    code = "invalid"
    status = 400


class NotAllowed(BillingError):
    code = "permission_denied"
    status = 403


class BillingLimitReached(BillingError):
    code = "billing_limit_reached"
    status = 403


class Conflict(BillingError):
    code = "conflict"
    status = 409


class NotFound(BillingError):
    code = "not_found"
    status = 404


def invalid_from_validation_error(error: Exception) -> InvalidInput:
    """A Django ValidationError as an InvalidInput with per-field messages."""
    message_dict = getattr(error, "message_dict", None) or {"__all__": list(getattr(error, "messages", [str(error)]))}
    first = next(iter(message_dict.values()))[0]
    return InvalidInput(first, fields={name: list(messages) for name, messages in message_dict.items()})
