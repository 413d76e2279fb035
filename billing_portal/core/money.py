"""Money as integer minor units plus an ISO 4217 currency. No floats anywhere in money paths.

The exponent table lists the currencies the portal sells in. It agrees with Stripe's
zero-decimal list for JPY and KRW, so amounts pass to Stripe unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency

CURRENCY_EXPONENTS: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CAD": 2,
    "AUD": 2,
    "CHF": 2,
    "SEK": 2,
    "INR": 2,
    "JPY": 0,
    "KRW": 0,
}
CURRENCY_CHOICES = [(code, code) for code in CURRENCY_EXPONENTS]
# The largest amount staff may type for one price or refund, in minor units: sums stay inside 64-bit integers.
MAX_AMOUNT = 10**15


class CurrencyMismatch(ValueError):
    pass


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise ValueError(f"Unsupported currency {currency!r}") from None


def divide_rounded(numerator: int, denominator: int) -> int:
    """Integer division rounding half away from zero: the rounding invoices and Stripe prorations use."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


@dataclass(frozen=True, slots=True)
class Money:
    amount: int  # minor units: cents for USD, yen for JPY
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount) is not int:
            raise TypeError(f"Money amount must be an int of minor units, not {type(self.amount).__name__}")
        exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_major(cls, value: str | int | Decimal, currency: str) -> Money:
        """Parse a major-unit amount ("12.34" USD -> 1234); refuses more precision than the currency has."""
        quantum = Decimal(1).scaleb(-exponent(currency))
        decimal_value = Decimal(str(value))
        if decimal_value.quantize(quantum) != decimal_value:
            raise ValueError(f"{value} has more decimals than {currency} allows")
        return cls(int(decimal_value.scaleb(exponent(currency))), currency)

    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("Money can only be combined with Money")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency} cannot be combined")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        if type(factor) is not int:
            raise TypeError("Money can only be multiplied by an int; use prorate() for fractions")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount <= other.amount

    def prorate(self, numerator: int, denominator: int) -> Money:
        """self * numerator / denominator, rounded half away from zero to the minor unit."""
        return Money(divide_rounded(self.amount * numerator, denominator), self.currency)

    def percent_bp(self, basis_points: int) -> Money:
        """A share in basis points (1 bp = 0.01%), e.g. tax at 825 bp = 8.25%."""
        return self.prorate(basis_points, 10_000)

    @property
    def major(self) -> Decimal:
        return Decimal(self.amount).scaleb(-exponent(self.currency))

    def format(self, locale: str = "en_US") -> str:
        digits = exponent(self.currency)
        pattern_value = self.major.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        return format_currency(pattern_value, self.currency, locale=locale, currency_digits=True)

    def __str__(self) -> str:
        return self.format()


def sum_money(values: list[Money] | tuple[Money, ...], currency: str) -> Money:
    total = Money.zero(currency)
    for value in values:
        total = total + value
    return total
