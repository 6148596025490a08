"""A store's week of opening hours as the settings page edits it, and its one-line summary."""

from datetime import date, time, timedelta

from models.online.pickup import WEEKDAYS, opening_hours
from models.stores.store import Store

SHORT = dict(zip(WEEKDAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))


def week_of(store: Store) -> dict[str, tuple[time, time] | None]:
    """Return each weekday's first open period, read however the store's hours are kept."""
    monday = date(2026, 11, 23)  # any Monday: the hours repeat weekly
    week = {}
    for offset, day in enumerate(WEEKDAYS):
        periods = opening_hours(store, monday + timedelta(days=offset))
        week[day] = periods[0] if periods else None
    return week


def _clock(value: time) -> str:
    hour = value.hour % 12 or 12
    half = "am" if value.hour < 12 else "pm"
    return f"{hour}{f':{value.minute:02d}' if value.minute else ''} {half}"


def _span(period: tuple[time, time] | None) -> str:
    return "closed" if period is None else f"{_clock(period[0])} – {_clock(period[1])}"


def summary(week: dict[str, tuple[time, time] | None]) -> str:
    """Say the week in one line: 'Open daily 8 am – 10 pm' or 'Mon–Fri 9 am – 9 pm · Sun closed'."""
    spans = [_span(week.get(day)) for day in WEEKDAYS]
    if len(set(spans)) == 1:
        return "Closed" if spans[0] == "closed" else f"Open daily {spans[0]}"
    runs: list[tuple[int, int, str]] = []
    for index, span in enumerate(spans):
        if runs and runs[-1][2] == span:
            runs[-1] = (runs[-1][0], index, span)
        else:
            runs.append((index, index, span))
    parts = []
    for first, last, span in runs:
        days = SHORT[WEEKDAYS[first]]
        if last > first:
            days += ("–" if last > first + 1 else ", ") + SHORT[WEEKDAYS[last]]
        parts.append(f"{days} {span}")
    return " · ".join(parts)


def hours_setting(weekly: dict[str, list[list[str]]]) -> dict:
    """Return the store.hours value for a week entered as {'mon': [['08:00', '22:00']], ...}."""
    week = {
        day: (time.fromisoformat(p[0][0]), time.fromisoformat(p[0][1])) if p else None
        for day, p in weekly.items()
    }
    return {"weekly": weekly, "summary": summary(week)}
