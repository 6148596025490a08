"""Read and write money, weights, potency and percent as people type and read them."""

import re
from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    Context,
    Decimal,
    InvalidOperation,
    localcontext,
)

# How a figure leans when it cannot be shown exactly: what was used or bought rounds up, what is
# left rounds down (a budtender never reads more room than there is), anything else to nearest.
UP = ROUND_CEILING
DOWN = ROUND_FLOOR
NEAREST = ROUND_HALF_UP


@dataclass(frozen=True, slots=True)
class Unit:
    """How one unit reads: its name, its decimal places, and whether trailing zeros stay."""

    name: str
    places: int
    fixed: bool = False
    # Percent signs sit against the number ("10%"); every other name follows a space.
    joined: bool = False


# Keyed by the codes the rule packs, products and packages use.
UNITS = {
    # Scales at the counter read to the hundredth of a gram: "3.5 g", "56.7 g" (2 oz).
    "g": Unit("g", 2),
    # THC on a label: whole milligrams, or one decimal for microdoses ("2.5 mg").
    "mg": Unit("mg", 1),
    # Ounces, flower-equivalent ounces included, always with two decimals ("0.13 oz").
    "oz": Unit("oz", 2, fixed=True),
    "oz_eq": Unit("oz", 2, fixed=True),
    "fl_oz": Unit("fl oz", 2),
    "ml": Unit("ml", 0),
    "each": Unit("ea", 0),
    # Pool units of a state's allotment (NM medical units, OH days' supply) run to hundredths.
    "units": Unit("units", 2),
    "allowance": Unit("allowance", 2),
    "days": Unit("days", 2),
    "percent": Unit("%", 3, joined=True),
}


def _decimal(value: int | Decimal | str) -> Decimal:
    if isinstance(value, bool | float):
        raise TypeError(f"quantities are int, Decimal or text, never {type(value).__name__}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"{value!r} is not a quantity") from exc
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a quantity")
    return number


def unit_for(code: str) -> Unit:
    """Return how a unit code reads; an unknown code reads as itself, to two decimals."""
    return UNITS.get(code) or Unit(code.replace("_", " "), 2)


def unit_name(code: str) -> str:
    """Return the name people read for a unit code ("oz" for "oz_eq")."""
    return unit_for(code).name


def amount(
    value: int | Decimal | str,
    unit: str,
    *,
    rounding: str = NEAREST,
    places: int | None = None,
    grouping: bool = True,
) -> str:
    """Write a number of a unit in plain decimals ("3.5", "1,250", "0.13"), never an exponent."""
    spec = unit_for(unit)
    places = spec.places if places is None else places
    number = _decimal(value)
    # Enough digits for any magnitude, so quantize never runs out of precision.
    digits = max(number.adjusted(), 0) + places + 2
    with localcontext(Context(prec=max(digits, 28))):
        rounded = number.quantize(Decimal(1).scaleb(-places), rounding=rounding)
    if rounded.is_zero():
        rounded = rounded.copy_abs()
    # Form fields get the number bare ("1250.5"), as the register's parsers read it back.
    text = format(rounded, ",f" if grouping else "f")
    if not spec.fixed and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def quantity(
    value: int | Decimal | str,
    unit: str,
    *,
    rounding: str = NEAREST,
    places: int | None = None,
) -> str:
    """Write an amount with its unit's name: "3.5 g", "800 mg", "0.13 oz", "10%"."""
    spec = unit_for(unit)
    number = amount(value, unit, rounding=rounding, places=places)
    return f"{number}{spec.name}" if spec.joined else f"{number} {spec.name}"


def grams(milligrams: int) -> str:
    """Write whole milligrams of product as grams, exactly ("3.5 g", "3.456 g")."""
    return quantity(Decimal(_whole(milligrams)) / 1000, "g", places=3)


def grams_amount(milligrams: int) -> str:
    """Write whole milligrams as the bare grams a person types into a weight box ("3.5")."""
    return amount(Decimal(_whole(milligrams)) / 1000, "g", places=3, grouping=False)


def stock(value: int, unit: str) -> str:
    """Write a package or line quantity: units as "3 ea", milligrams as exact grams."""
    if unit == "each":
        return quantity(_whole(value), "each")
    return grams(value)


def _whole(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected whole milligrams or units, not {value!r}")
    return value


def money(cents: int) -> str:
    """Write integer cents as dollars, the sign before the dollar sign ("$1,234.56", "-$1.50")."""
    sign, dollars, rest = _dollars(cents)
    return f"{sign}${dollars:,}.{rest:02d}"


def money_amount(cents: int) -> str:
    """Write integer cents as the bare dollars a person types into a money box ("12.50")."""
    sign, dollars, rest = _dollars(cents)
    return f"{sign}{dollars}.{rest:02d}"


def _dollars(cents: int) -> tuple[str, int, int]:
    sign = "-" if _whole(cents) < 0 else ""
    return (sign, *divmod(abs(cents), 100))


def milligrams(mg: int) -> str:
    """Write whole milligrams of THC or CBD as a label reads them ("100 mg")."""
    return quantity(_whole(mg), "mg")


def percent(hundredths: int, places: int = 1) -> str:
    """Write a percent held in hundredths ("21.5%" for 2150), to at most `places` decimals."""
    return quantity(Decimal(_whole(hundredths)) / 100, "percent", places=places)


def percent_amount(hundredths: int) -> str:
    """Write a percent held in hundredths as the bare number a person types ("12.5")."""
    return amount(Decimal(_whole(hundredths)) / 100, "percent", places=2, grouping=False)


class UnitError(ValueError):
    """A figure typed by a person that is not one; its text says why, for the person."""


# Plain decimals only: ASCII digits and one point, so never "1e3", "NaN", "Infinity" or "١٢".
_PLAIN = re.compile(r"(-?)(\d*)(?:\.(\d*))?", re.ASCII)
# More whole digits than any till, scale or tax rate means: refused before any arithmetic (and
# few enough that app.js reads the same cents exactly, below 2**53).
_MAX_DIGITS = 13


@dataclass(frozen=True, slots=True)
class Typed:
    """How one kind of figure is typed: what it is called, an example, what may surround it."""

    noun: str
    example: str
    prefix: str = ""
    suffix: str = ""
    grouping: bool = False


MONEY = Typed("an amount of money", "12.50", prefix="$", grouping=True)
GRAMS = Typed("a weight in grams", "3.5", suffix="g")
MILLIGRAMS = Typed("an amount in milligrams", "100", suffix="mg")
PERCENT = Typed("a percent", "12.5", suffix="%")
NUMBER = Typed("a number", "3.5")


def parse_scaled(text: str | None, places: int, kind: Typed = NUMBER) -> int | None:
    """Read a plain decimal as a whole count of its last place ("3.5", 3 -> 3500); None if blank."""
    digits = _plain(text, places, kind)
    return None if digits is None else int(digits[0] + digits[1].ljust(places, "0"))


def parse_decimal(text: str | None, kind: Typed = NUMBER) -> Decimal | None:
    """Read a plain decimal exactly, as typed ("787.5" -> Decimal("787.5")); None if blank."""
    digits = _plain(text, None, kind)
    if digits is None:
        return None
    whole, fraction = digits
    return Decimal(f"{whole}.{fraction}" if fraction else whole)


def parse_money(text: str | None) -> int | None:
    """Read dollars typed by a person ("12", "12.5", "$1,200.00") as cents; None if blank."""
    return parse_scaled(text, 2, MONEY)


def parse_grams(text: str | None) -> int | None:
    """Read grams typed by a person ("3.5", "0.001 g") as whole milligrams; None if blank."""
    return parse_scaled(text, 3, GRAMS)


def parse_milligrams(text: str | None) -> int | None:
    """Read whole milligrams typed by a person ("100", "100 mg"); None if blank."""
    return parse_scaled(text, 0, MILLIGRAMS)


def parse_percent(text: str | None, places: int = 2) -> int | None:
    """Read a percent typed by a person ("12.5%") in hundredths (places=2); None if blank."""
    return parse_scaled(text, places, PERCENT)


def parse_rate(text: str | None) -> Decimal | None:
    """Read a tax rate typed as a percent to three decimals ("7.875") as basis points (787.5)."""
    thousandths = parse_percent(text, places=3)
    return None if thousandths is None else Decimal(thousandths) / 10


def _plain(text: str | None, places: int | None, kind: Typed) -> tuple[str, str] | None:
    raw = (text or "").strip()
    if not raw:
        return None
    cleaned = raw.removeprefix(kind.prefix) if kind.prefix else raw
    cleaned = cleaned.lower().removesuffix(kind.suffix).rstrip() if kind.suffix else cleaned
    if kind.grouping:
        cleaned = cleaned.replace(",", "")
    match = _PLAIN.fullmatch(cleaned)
    if match is None or not (match.group(2) or match.group(3)):
        raise UnitError(f"“{raw}” is not {kind.noun}; enter it as a number, e.g. {kind.example}.")
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    if sign and (whole + fraction).strip("0"):
        raise UnitError(f"“{raw}” is not {kind.noun}: it must be positive or zero.")
    if places is not None and len(fraction.rstrip("0")) > places:
        decimals = f"at most {places} decimals" if places else "no decimals"
        raise UnitError(f"“{raw}” is not {kind.noun}: give it with {decimals}.")
    whole = whole.lstrip("0") or "0"
    if len(whole) > _MAX_DIGITS or (places is None and len(fraction) > _MAX_DIGITS):
        raise UnitError(f"“{raw}” is far more than {kind.noun} can be; check it.")
    return whole, fraction[:places] if places is not None else fraction
