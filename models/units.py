"""Write quantities as people read them: grams, milligrams, ounces, units; one set of rules."""

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
