"""Template filters that format cents, quantities and times for people."""

from decimal import Decimal

from flask import Flask

from models import units


def money(cents: int | None) -> str:
    """Format integer cents as dollars, e.g. 123456 -> $1,234.56."""
    if cents is None:
        return "—"
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(int(cents)), 100)
    return f"{sign}${dollars:,}.{rest:02d}"


def grams(milligrams: int | None) -> str:
    """Format integer milligrams as exact grams, e.g. 3500 -> 3.5 g."""
    return "—" if milligrams is None else units.grams(int(milligrams))


def grams_amount(milligrams: int | None) -> str:
    """Format integer milligrams as the bare grams of a weight box, e.g. 3500 -> 3.5."""
    return "" if milligrams is None else units.grams_amount(int(milligrams))


def milligrams(mg: int | None) -> str:
    """Format integer milligrams, e.g. 100 -> 100 mg."""
    return "—" if mg is None else units.quantity(int(mg), "mg")


def percent(hundredths: int | None) -> str:
    """Format a percentage held in hundredths, e.g. 2150 -> 21.5%."""
    if hundredths is None:
        return "—"
    return units.quantity(Decimal(int(hundredths)) / 100, "percent", places=1)


def quantity(value, unit: str) -> str:
    """Format an amount of a unit ("oz_eq", "mg", "percent", …) as people read it."""
    return "—" if value is None else units.quantity(value, unit)


def local_time(value, store, fmt: str = "%b %-d, %-I:%M %p") -> str:
    """Format a UTC instant on the store's clock."""
    if value is None:
        return "—"
    return value.astimezone(store.zone).strftime(fmt)


def init_app(app: Flask) -> None:
    """Register the filters."""
    for template_filter in (
        money,
        grams,
        grams_amount,
        milligrams,
        percent,
        quantity,
        local_time,
    ):
        app.add_template_filter(template_filter)
