"""The leaf values of a rule pack (text, numbers, dates, choices, references) and their messages."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import PlainValidator, ValidationInfo

from models.rules.cart_lines import LIMIT_CATEGORIES

CONFIDENCES = ("H", "M", "L")
WINDOWS = ("transaction", "calendar_day", "calendar_month", "rolling_days")
SCOPES = ("store", "statewide")
KINDS = ("bucket", "pool")
MEASURES = ("weight", "thc", "volume", "count")
DISPLAYS = ("added", "included")
ROUNDINGS = ("half_up", "up", "down", "half_even")
PRODUCT_SETS = ("cannabis", "non_cannabis", "all")
SYSTEMS = ("metrc", "biotrack")
ADDRESS_KINDS = ("production", "sandbox")
# The units a quantity may be written in, and what each one measures.
UNIT_DIMENSION = {
    "mg": "mass",
    "g": "mass",
    "oz": "mass",
    "ml": "volume",
    "fl_oz": "volume",
    "units": "count",
}
ID = re.compile(r"^[a-z][a-z0-9_]*$")
URL = re.compile(r"^https?://\S+$")
# A state system's API host: https only, a lowercase DNS name, no port, user or query; an optional
# path (BioTrack's legacy serverjson.asp) without a trailing slash.
ADDRESS = re.compile(
    r"^https://(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}(?:/[A-Za-z0-9._-]+)*$"
)
_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z_]+)\s*$")


class PackValueError(ValueError):
    """A value in a pack is wrong; `tail` points below the place the validator was attached."""

    def __init__(self, message: str, tail: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.tail = tail


@dataclass(frozen=True, slots=True)
class Quantity:
    """An amount written with its unit, such as '8 g' or '36 fl_oz'."""

    amount: Decimal
    unit: str

    @property
    def dimension(self) -> str:
        """Say what the unit measures: mass, volume or count."""
        return UNIT_DIMENSION[self.unit]


def read_quantity(field: str, value: Any) -> Quantity:
    """Parse '2 oz', '800 mg', '36 fl_oz' into a positive quantity."""
    match = _QUANTITY.match(value) if isinstance(value, str) else None
    if not match:
        raise PackValueError(f"{field} must be a quantity like '8 g', not {value!r}")
    if match.group(2) not in UNIT_DIMENSION:
        raise PackValueError(
            f"{field}: unknown unit {match.group(2)!r} (mg, g, oz, ml, fl_oz, units)"
        )
    amount = Decimal(match.group(1))
    if amount <= 0:
        raise PackValueError(f"{field} must be positive")
    return Quantity(amount, match.group(2))


def is_whole(value: Any) -> bool:
    """Say whether a YAML value is a whole number (true and false are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _field(info: ValidationInfo) -> str:
    return (info.field_name or "value").rstrip("_")


def _text(value: Any, info: ValidationInfo) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PackValueError(f"{_field(info)} must be non-empty text")
    return value.strip()


def _identifier(value: Any) -> str:
    if not isinstance(value, str) or not ID.match(value):
        raise PackValueError("id must be lower_snake_case")
    return value


def _number(field: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise PackValueError(f"{field} must be a number, not {value!r}")
    return Decimal(value)


def _positive(value: Any, info: ValidationInfo) -> Decimal:
    number = _number(_field(info), value)
    if number <= 0:
        raise PackValueError(f"{_field(info)} must be positive")
    return number


def _positive_or_quantity(value: Any, info: ValidationInfo) -> Decimal | str:
    # A quantity's unit is checked against the rule's unit when the pack is compiled.
    return value if isinstance(value, str) else _positive(value, info)


def _percent(value: Any) -> Decimal:
    number = _number("percent", value)
    if not 0 <= number <= 100:
        raise PackValueError(f"percent {number} is not between 0 and 100")
    return number


def _whole(value: Any, info: ValidationInfo) -> int | None:
    if value is None:
        return None
    if not is_whole(value) or value < 0:
        raise PackValueError(f"{_field(info)} must be a whole number, not {value!r}")
    return int(value)


def _yes_no(value: Any, info: ValidationInfo) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise PackValueError(f"{_field(info)} must be true or false")
    return value


def _url(value: Any) -> str:
    if not isinstance(value, str) or not URL.match(value):
        raise PackValueError(f"source must be a URL or a source id, not {value!r}")
    return value


def _sources(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or value is None:
        raise PackValueError("source is required")
    for item in items:
        if not isinstance(item, str):
            raise PackValueError(f"source must be a URL or a source id, not {item!r}")
    return tuple(items)


def _class_names(value: Any, info: ValidationInfo) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PackValueError(f"{_field(info)} must name at least one class")
    for item in items:
        if not isinstance(item, str):
            raise PackValueError(f"{_field(info)}: unknown class {item!r}")
    return tuple(items)


def category_names(value: Any) -> frozenset[str]:
    """Check one category name or a list of them against the shared vocabulary."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item not in LIMIT_CATEGORIES:
            raise PackValueError(
                f"unknown category {item!r} (known: {', '.join(LIMIT_CATEGORIES)})"
            )
    return frozenset(items)


def _products(value: Any) -> str | frozenset[str]:
    if isinstance(value, str) and value in PRODUCT_SETS:
        return value
    if isinstance(value, list):
        return category_names(value)
    raise PackValueError(f"products must be one of {', '.join(PRODUCT_SETS)} or a category list")


def _flags(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PackValueError("flags must be a list of names")
    return frozenset(value)


def _tax_ids(value: Any) -> tuple[str, ...]:
    value = value or []
    if not isinstance(value, list) or not all(isinstance(b, str) for b in value):
        raise PackValueError("base_includes must be a list of tax ids")
    return tuple(value)


def dated(label: str | None = None, required: bool = False) -> PlainValidator:
    """Read a YYYY-MM-DD date, naming the field as `label` (default: the field's own name)."""

    def read(value: Any, info: ValidationInfo) -> date | None:
        name = label or _field(info)
        if value is None:
            if required:
                raise PackValueError(f"{name} is required")
            return None
        try:
            return date.fromisoformat(str(value))
        except ValueError as exc:
            raise PackValueError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from exc

    return PlainValidator(read)


def choice(options: Sequence[str], message: str) -> PlainValidator:
    """Accept one of `options`; otherwise fail with `message` (which may show {value!r})."""

    def read(value: Any) -> str:
        if value not in options:
            raise PackValueError(message.format(value=value))
        return str(value)

    return PlainValidator(read)


def non_empty_list(message: str) -> Callable[[Any], list[Any]]:
    """Build a before-validator that wants a non-empty list."""

    def read(value: Any) -> list[Any]:
        if not isinstance(value, list) or not value:
            raise PackValueError(message)
        return value

    return read


Text = Annotated[str, PlainValidator(_text)]
Identifier = Annotated[str, PlainValidator(_identifier)]
Positive = Annotated[Decimal, PlainValidator(_positive)]
PositiveOrQuantity = Annotated[Decimal | str, PlainValidator(_positive_or_quantity)]
Percent = Annotated[Decimal, PlainValidator(_percent)]
Whole = Annotated[int | None, PlainValidator(_whole)]
YesNo = Annotated[bool | None, PlainValidator(_yes_no)]
Url = Annotated[str, PlainValidator(_url)]
SourceRefs = Annotated[tuple[str, ...], PlainValidator(_sources)]
# Given as null, an optional source list is still refused: null is not a source.
OptionalSourceRefs = Annotated[tuple[str, ...] | None, PlainValidator(_sources)]
ClassRefs = Annotated[tuple[str, ...], PlainValidator(_class_names)]
Categories = Annotated[frozenset[str], PlainValidator(category_names)]
Products = Annotated[str | frozenset[str], PlainValidator(_products)]
Flags = Annotated[frozenset[str], PlainValidator(_flags)]
TaxIds = Annotated[tuple[str, ...], PlainValidator(_tax_ids)]
DivisorQuantity = Annotated[Quantity, PlainValidator(lambda v: read_quantity("divisor", v))]
Confidence = Annotated[str, choice(CONFIDENCES, "confidence must be H, M or L, not {value!r}")]
Date = Annotated[date | None, dated()]
