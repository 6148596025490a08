"""Template filters: the units module's figures for people, and times on the store's clock."""

from flask import Flask

from models import units


def money(cents: int | None) -> str:
    """Format integer cents as dollars, e.g. 123456 -> $1,234.56."""
    return "—" if cents is None else units.money(int(cents))


def money_amount(cents: int | None) -> str:
    """Format integer cents as the bare dollars of a money box, e.g. 1250 -> 12.50."""
    return "" if cents is None else units.money_amount(int(cents))


def grams(milligrams: int | None) -> str:
    """Format integer milligrams as exact grams, e.g. 3500 -> 3.5 g."""
    return "—" if milligrams is None else units.grams(int(milligrams))


def grams_amount(milligrams: int | None) -> str:
    """Format integer milligrams as the bare grams of a weight box, e.g. 3500 -> 3.5."""
    return "" if milligrams is None else units.grams_amount(int(milligrams))


def milligrams(mg: int | None) -> str:
    """Format integer milligrams, e.g. 100 -> 100 mg."""
    return "—" if mg is None else units.milligrams(int(mg))


def percent(hundredths: int | None) -> str:
    """Format a percentage held in hundredths, e.g. 2150 -> 21.5%."""
    return "—" if hundredths is None else units.percent(int(hundredths))


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
        money_amount,
        grams,
        grams_amount,
        milligrams,
        percent,
        quantity,
        local_time,
    ):
        app.add_template_filter(template_filter)
