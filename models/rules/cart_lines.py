"""What a limit check reads: the category vocabulary, cart lines, the buyer and past purchases."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# The one vocabulary of limit categories, shared by products, packs, the CLI and the engine.
LIMIT_CATEGORIES = (
    "flower",
    "preroll",
    "infused_preroll",
    "concentrate",
    "vape",
    "edible",
    "beverage",
    "tincture",
    "topical",
    "immature_plant",
    "seed",
)
# Accessories and other non-cannabis goods carry no limit category.
NOT_LIMITED = (None, "none")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class CartLine:
    """A line of a cart or past sale; weights and THC are per unit, in whole milligrams."""

    # Liquids are capped by fluid ounces but products carry a net weight, so a liquid's net
    # weight is also read as its volume (1 mg ≈ 1 µl, the density of water).

    category: str | None
    net_weight_mg: int | None = None
    thc_mg: int | None = None
    quantity: int = 1
    label: str = ""

    def __post_init__(self) -> None:
        if self.category not in NOT_LIMITED and self.category not in LIMIT_CATEGORIES:
            raise ValueError(
                f"unknown limit category {self.category!r} (known: {', '.join(LIMIT_CATEGORIES)})"
            )
        for name in ("net_weight_mg", "thc_mg"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 0):
                raise ValueError(f"{name} must be a whole number of milligrams, not {value!r}")
        if not _is_int(self.quantity) or self.quantity < 1:
            raise ValueError(
                f"quantity must be a whole number of at least 1, not {self.quantity!r}"
            )

    @property
    def limited(self) -> bool:
        """Say whether the line has a limit category at all."""
        return self.category in LIMIT_CATEGORIES

    def name(self, index: int) -> str:
        """Name the line for messages: its label, or its position and category."""
        return self.label or f"line {index + 1} ({self.category or 'no category'})"


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """Who is buying: the classes they buy under, age, residency, and a patient if a caregiver."""

    classes: frozenset[str]
    age: int | None = None
    date_of_birth: date | None = None
    resident: bool = True
    caregiver_for: str | None = None
    patient_age: int | None = None

    def __post_init__(self) -> None:
        classes = (self.classes,) if isinstance(self.classes, str) else self.classes
        object.__setattr__(self, "classes", frozenset(classes))
        if not self.classes:
            raise ValueError("a customer profile needs at least one class")
        for name in ("age", "patient_age"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 0):
                raise ValueError(f"{name} must be a whole number of years, not {value!r}")

    def age_on(self, day: date) -> int | None:
        """Give the age in whole years on a day, from the date of birth when known."""
        if self.date_of_birth is None:
            return self.age
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass(frozen=True, slots=True)
class PastPurchase:
    """A completed sale to the customer: when (store-local or aware) and what, under which class."""

    at: datetime
    lines: tuple[CartLine, ...]
    classes: frozenset[str] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        if self.classes is not None:
            classes = (self.classes,) if isinstance(self.classes, str) else self.classes
            object.__setattr__(self, "classes", frozenset(classes))


_AMOUNT = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(mg|g|kg|oz|ml)$")


def parse_amount_mg(text: str, g_per_oz: Decimal = Decimal("28.3495")) -> int:
    """Turn '3.5g', '1600mg', '355ml' (1 ml ≈ 1 g) or '1oz' into whole milligrams."""
    match = _AMOUNT.match(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not an amount like 3.5g, 1600mg or 355ml")
    factors = {
        "mg": Decimal(1),
        "g": Decimal(1000),
        "kg": Decimal(1000000),
        "ml": Decimal(1000),
        "oz": g_per_oz * 1000,
    }
    factor = factors[match.group(2)]
    value = Decimal(match.group(1)) * factor
    if value != value.to_integral_value():
        raise ValueError(f"{text!r} is {value} mg, not a whole number of milligrams")
    return int(value)


def parse_line(
    spec: str, g_per_oz: Decimal = Decimal("28.3495")
) -> tuple[CartLine, dict[str, str]]:
    """Parse CATEGORY[:NET_WEIGHT[:THC]][:key=value...] into a cart line and its other options."""
    # Weight and THC are per unit (the whole line when qty is 1); qty= and label= shape the
    # line, and any other key=value (price=, thc_pct=, flags=) is left for the caller.
    parts = [p.strip() for p in spec.split(":")]
    category: str | None = parts[0].lower()
    if category in ("accessory", "none", ""):
        category = None
    positional: list[str] = []
    options: dict[str, str] = {}
    for part in parts[1:]:
        if "=" in part:
            key, _, value = part.partition("=")
            options[key.strip().lower()] = value.strip()
        elif part:
            positional.append(part)
    if len(positional) > 2:
        raise ValueError(
            f"{spec!r}: expected CATEGORY:NET_WEIGHT[:THC], got extra {positional[2]!r}"
        )
    weight = parse_amount_mg(positional[0], g_per_oz) if positional else None
    thc = parse_amount_mg(positional[1], g_per_oz) if len(positional) > 1 else None
    quantity_text = options.pop("qty", "1")
    if not quantity_text.isdigit():
        raise ValueError(f"{spec!r}: qty must be a whole number, not {quantity_text!r}")
    line = CartLine(
        category=category,
        net_weight_mg=weight,
        thc_mg=thc,
        quantity=int(quantity_text),
        label=options.pop("label", ""),
    )
    return line, options
