"""The request id of the current request or job, for logs and audit rows."""

from __future__ import annotations

import contextvars
import re
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def current() -> str:
    return _request_id.get()


def accept_or_generate(candidate: str | None) -> str:
    """A client-supplied id is echoed back if it is short and plain; anything else is replaced."""
    if candidate and _VALID.match(candidate):
        return candidate
    return uuid.uuid4().hex


def bind(value: str) -> contextvars.Token[str]:
    return _request_id.set(value)


def reset(token: contextvars.Token[str]) -> None:
    _request_id.reset(token)
