from decimal import Decimal

import pytest

from billing_portal.core.money import CurrencyMismatch, Money, divide_rounded, exponent, sum_money


def test_amounts_are_integer_minor_units_only():
    with pytest.raises(TypeError):
        Money(12.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(Decimal("12"), "USD")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(100, "XXX")


def test_arithmetic_keeps_currency_and_refuses_mixing():
    assert Money(1_050, "USD") + Money(25, "USD") == Money(1_075, "USD")
    assert Money(1_050, "USD") - Money(2_000, "USD") == Money(-950, "USD")
    assert Money(1_200, "USD") * 3 == Money(3_600, "USD")
    assert 3 * Money(1_200, "USD") == Money(3_600, "USD")
    with pytest.raises(CurrencyMismatch):
        Money(1, "USD") + Money(1, "EUR")
    with pytest.raises(TypeError):
        Money(1, "USD") * 1.5  # type: ignore[operator]


def test_zero_decimal_currencies():
    assert exponent("JPY") == 0
    assert exponent("KRW") == 0
    assert exponent("USD") == 2
    assert Money.from_major("1200", "JPY") == Money(1_200, "JPY")
    assert Money.from_major("12.34", "USD") == Money(1_234, "USD")
    with pytest.raises(ValueError):
        Money.from_major("12.5", "JPY")
    with pytest.raises(ValueError):
        Money.from_major("0.001", "USD")


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(5, 2, 3), (4, 2, 2), (7, 3, 2), (-5, 2, -3), (-7, 3, -2), (1, 3, 0), (2, 3, 1), (0, 9, 0)],
)
def test_divide_rounded_is_half_away_from_zero(numerator, denominator, expected):
    assert divide_rounded(numerator, denominator) == expected


def test_prorate_and_basis_points():
    # $49.00 for 10 of 30 days: 16.333... -> $16.33
    assert Money(4_900, "USD").prorate(10, 30) == Money(1_633, "USD")
    # ¥4,900 for 1 of 3: 1,633.33 -> ¥1,633 (no minor unit below the yen)
    assert Money(4_900, "JPY").prorate(1, 3) == Money(1_633, "JPY")
    assert Money(10_000, "USD").percent_bp(825) == Money(825, "USD")
    assert Money(1_999, "USD").percent_bp(2_000) == Money(400, "USD")  # 399.8 rounds up


def test_formatting_per_currency():
    assert Money(123_456, "USD").format() == "$1,234.56"
    assert Money(123_456, "JPY").format() == "¥123,456"
    assert Money(5, "USD").format() == "$0.05"
    assert Money(-1_500, "USD").format() == "-$15.00"
    assert Money(1_000, "KRW").format() == "₩1,000"
    assert Money(99_900, "EUR").format("de_DE") == "999,00\xa0€"


def test_sum_money():
    assert sum_money([Money(1, "JPY"), Money(2, "JPY")], "JPY") == Money(3, "JPY")
    assert sum_money([], "USD") == Money(0, "USD")
