"""Template filters that format cents, milligrams and times for people."""

from decimal import ROUND_HALF_UP, Decimal

from flask import Flask


def money(cents: int | None) -> str:
    """Format integer cents as dollars, e.g. 123456 -> $1,234.56."""
    if cents is None:
        return "—"
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(int(cents)), 100)
    return f"{sign}${dollars:,}.{rest:02d}"


def grams(milligrams: int | None) -> str:
    """Format integer milligrams as grams with up to three decimals, e.g. 3500 -> 3.5 g."""
    if milligrams is None:
        return "—"
    text = f"{Decimal(milligrams) / 1000:.3f}".rstrip("0").rstrip(".")
    return f"{text} g"


def milligrams(mg: int | None) -> str:
    """Format integer milligrams, e.g. 100 -> 100 mg."""
    return "—" if mg is None else f"{int(mg):,} mg"


def percent(hundredths: int | None) -> str:
    """Format a percentage held in hundredths, e.g. 2150 -> 21.5%."""
    if hundredths is None:
        return "—"
    value = (Decimal(hundredths) / 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{value}%"


def local_time(value, store, fmt: str = "%b %-d, %-I:%M %p") -> str:
    """Format a UTC instant on the store's clock."""
    if value is None:
        return "—"
    return value.astimezone(store.zone).strftime(fmt)


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(money)
    app.add_template_filter(grams)
    app.add_template_filter(milligrams)
    app.add_template_filter(percent)
    app.add_template_filter(local_time)
