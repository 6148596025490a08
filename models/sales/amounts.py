"""Money and quantities at the register: parsing what is typed, line sums, fair shares."""

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from models import units
from models.infra.numbers import parse_count
from models.sales.errors import SaleError
from models.sales.orders import OrderLine
from models.stock.packages import Package

MAX_EACH = 999
MAX_GRAMS_MG = 1_000_000
DEFAULT_GRAMS_MG = 1000
# Far above any real sale, and well inside a 32-bit integer column in cents.
MAX_MONEY_DOLLARS = 1_000_000


def half_up(value: Decimal) -> int:
    """Round to a whole number, halves away from zero (as a till does)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_cents(text: str | None) -> int | None:
    """Read dollars typed at the register ("12.5", "$1,200.00") as cents; None if empty."""
    cents = _typed(units.parse_money, text)
    if cents is not None and cents > MAX_MONEY_DOLLARS * 100:
        raise SaleError(f"“{text}” is more than a register handles; check the amount.")
    return cents


def parse_units(text: str | None, message: str = "Enter a whole number of units.") -> int:
    """Read a whole number of units typed by a person (the digits 0-9 only, so never ² or ٣)."""
    count = parse_count(text)
    if count is None:
        raise SaleError(message)
    return count


def parse_grams(text: str | None) -> int:
    """Read grams typed at the register ("3.5") as whole milligrams."""
    milligrams = _typed(units.parse_grams, text)
    if milligrams is None or milligrams > MAX_GRAMS_MG * 1000:
        raise SaleError(f"“{text or ''}” is not a weight in grams a sale can hold.")
    return milligrams


def parse_percent(text: str | None) -> int:
    """Read a percent typed at the register ("10", "12.5%") as hundredths of a percent."""
    hundredths = _typed(units.parse_percent, text)
    if hundredths is None or hundredths > 100_000:
        raise SaleError(f"“{text or ''}” is not a percent a discount can be.")
    return hundredths


def _typed(parse, text: str | None):
    try:
        return parse(text)
    except units.UnitError as exc:
        raise SaleError(str(exc)) from exc


def line_gross(line: OrderLine) -> int:
    """Return a line's price before discounts: units × price, or grams × price per gram."""
    if line.unit == "grams":
        return half_up(Decimal(line.unit_price_cents) * Decimal(line.quantity) / 1000)
    return line.unit_price_cents * line.quantity


def discount_amount(kind: str | None, value: int | None, base_cents: int) -> int:
    """Return what a discount takes off a base: percent in hundredths, or cents, never more."""
    if not kind or not value or base_cents <= 0:
        return 0
    if kind == "percent":
        amount = half_up(Decimal(base_cents) * Decimal(value) / Decimal(10000))
    else:
        amount = value
    return min(amount, base_cents)


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split cents over weights in proportion; leftover cents go to the largest remainders."""
    total = sum(weights)
    if amount <= 0 or total <= 0:
        return [0] * len(weights)
    shares = [amount * w // total for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in order[: amount - sum(shares)]:
        shares[i] += 1
    return shares


def amount_label(package: Package, quantity: int) -> str:
    """Return a quantity of a package as a person reads it (units, or exact grams)."""
    return units.grams(quantity) if package.unit == "grams" else units.amount(quantity, "each")
