import pytest

from billing_portal.core.numbers import BIGINT_MAX, whole_number


@pytest.mark.parametrize(
    ("text", "at_most", "number"),
    [
        ("42", BIGINT_MAX, 42),
        ("0", BIGINT_MAX, 0),
        (str(BIGINT_MAX), BIGINT_MAX, BIGINT_MAX),
        (str(BIGINT_MAX + 1), BIGINT_MAX, None),
        ("9" * 5_000, BIGINT_MAX, None),  # int() refuses past 4,300 digits
        ("101", 100, None),
        ("²", BIGINT_MAX, None),  # isdigit, yet int() refuses it
        ("١٢٣", BIGINT_MAX, None),  # isdigit, and int() would read it as 123
        ("-1", BIGINT_MAX, None),
        (" 1", BIGINT_MAX, None),
        ("", BIGINT_MAX, None),
    ],
)
def test_whole_numbers_are_ascii_digits_within_the_bound(text, at_most, number):
    assert whole_number(text, at_most=at_most) == number
