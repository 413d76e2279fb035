"""Whole numbers that arrive as text (form fields, query strings, Stripe metadata)."""

from __future__ import annotations

BIGINT_MAX = 2**63 - 1  # the largest id or count a column holds


def whole_number(text: str, *, at_most: int = BIGINT_MAX) -> int | None:
    """`text` as an int when it is ASCII digits and at most `at_most`; else None. (str.isdigit alone accepts "²"
    and "١٢٣", which int() refuses or reads, and any length, which int() refuses past 4,300 digits.)"""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(at_most)):
        return None
    number = int(text)
    return number if number <= at_most else None
