"""Pickup slots for online orders: the store's opening hours cut into slots with a capacity each."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from extensions import db
from models.base import utcnow
from models.sales.orders import Order
from models.stores.store import Store

DEFAULT_SLOT_MINUTES = 30
DEFAULT_SLOT_CAPACITY = 6
DEFAULT_GRACE_MINUTES = 60
DEFAULT_LEAD_MINUTES = 30
DAYS_AHEAD = 3
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Orders that still take a place in their slot (a picked-up order did come at that time).
SLOT_TAKING_STATUSES = ("placed", "accepted", "packed", "ready", "completed")
_SUMMARY_HOURS = re.compile(
    r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)\s*[–—-]\s*(\d{1,2})(?::(\d{2}))?\s*(am|pm)", re.IGNORECASE
)


@dataclass(frozen=True)
class PickupSettings:
    """A store's pickup rules: slot length, orders per slot, grace after the slot, prep time."""

    slot_minutes: int
    capacity: int
    grace_minutes: int
    lead_minutes: int


@dataclass(frozen=True)
class Slot:
    """One pickup window, in UTC, with how many orders already chose it."""

    starts_at: datetime
    ends_at: datetime
    booked: int
    capacity: int

    @property
    def full(self) -> bool:
        """Say whether no more orders fit."""
        return self.booked >= self.capacity

    @property
    def left(self) -> int:
        """Return how many more orders fit."""
        return max(self.capacity - self.booked, 0)

    @property
    def key(self) -> str:
        """Name the slot in a form: its UTC start, e.g. 20261128T1500Z."""
        return slot_key(self.starts_at)


def slot_key(starts_at: datetime) -> str:
    """Return the form value naming a slot that starts at an instant."""
    return starts_at.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def settings(store: Store) -> PickupSettings:
    """Return the store's pickup settings, with defaults for what it has not set."""
    return PickupSettings(
        slot_minutes=store.pickup_slot_minutes or DEFAULT_SLOT_MINUTES,
        capacity=store.pickup_slot_capacity or DEFAULT_SLOT_CAPACITY,
        grace_minutes=(
            DEFAULT_GRACE_MINUTES
            if store.pickup_grace_minutes is None
            else store.pickup_grace_minutes
        ),
        lead_minutes=(
            DEFAULT_LEAD_MINUTES if store.pickup_lead_minutes is None else store.pickup_lead_minutes
        ),
    )


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _from_summary(summary: str) -> list[tuple[time, time]]:
    """Read "Open daily 8 am – 10 pm" when the store has not entered structured hours."""
    match = _SUMMARY_HOURS.search(summary or "")
    if match is None:
        return []

    def to_time(hour: str, minute: str | None, half: str) -> time:
        h = int(hour) % 12 + (12 if half.lower() == "pm" else 0)
        return time(h, int(minute or 0))

    opens = to_time(match.group(1), match.group(2), match.group(3))
    closes = to_time(match.group(4), match.group(5), match.group(6))
    return [(opens, closes)]


def opening_hours(store: Store, day: date) -> list[tuple[time, time]]:
    """Return the store's open periods on a local day (local wall-clock times)."""
    # hours = {"weekly": {"mon": [["08:00", "22:00"]], ...}} or {"daily": ["08:00", "22:00"]};
    # older stores only have a summary line, which is read as a daily schedule.
    hours = store.hours or {}
    weekly = hours.get("weekly")
    if isinstance(weekly, dict):
        periods = weekly.get(WEEKDAYS[day.weekday()]) or []
        return [(_clock(a), _clock(b)) for a, b in periods]
    daily = hours.get("daily")
    if isinstance(daily, list | tuple) and len(daily) == 2:
        return [(_clock(daily[0]), _clock(daily[1]))]
    return _from_summary(hours.get("summary", ""))


def _periods_utc(store: Store, day: date) -> list[tuple[datetime, datetime]]:
    zone = store.zone
    periods = []
    for opens, closes in opening_hours(store, day):
        start = datetime.combine(day, opens, tzinfo=zone).astimezone(UTC)
        # A store open past midnight closes on the next calendar day.
        close_day = day if closes > opens else day + timedelta(days=1)
        end = datetime.combine(close_day, closes, tzinfo=zone).astimezone(UTC)
        periods.append((start, end))
    return periods


def _booked(store: Store, start: datetime, end: datetime) -> dict[datetime, int]:
    rows = db.session.execute(
        select(Order.pickup_at, func.count(Order.id))
        .where(
            Order.store_id == store.id,
            Order.channel == "web",
            Order.status.in_(SLOT_TAKING_STATUSES),
            Order.pickup_at >= start,
            Order.pickup_at < end,
        )
        .group_by(Order.pickup_at)
    )
    return {at: count for at, count in rows if at is not None}


def available_slots(
    store: Store, now: datetime | None = None, days: int = DAYS_AHEAD
) -> list[Slot]:
    """Return the pickup slots from now (plus prep time) over the next days, full ones included."""
    now = now or utcnow()
    rules = settings(store)
    earliest = now + timedelta(minutes=rules.lead_minutes)
    today = store.business_date(now)
    step = timedelta(minutes=rules.slot_minutes)
    windows: list[tuple[datetime, datetime]] = []
    for offset in range(days):
        for start, end in _periods_utc(store, today + timedelta(days=offset)):
            at = start
            while at + step <= end:
                if at >= earliest:
                    windows.append((at, at + step))
                at += step
    if not windows:
        return []
    booked = _booked(store, windows[0][0], windows[-1][1])
    return [Slot(a, b, booked.get(a, 0), rules.capacity) for a, b in windows]


def next_open_slot(store: Store, now: datetime | None = None) -> Slot | None:
    """Return the first pickup slot that still takes orders, today or tomorrow."""
    return next((s for s in available_slots(store, now, days=2) if not s.full), None)


def find_slot(store: Store, key: str, now: datetime | None = None) -> Slot | None:
    """Return the offered slot a form value names, or None when it is not (or no longer) offered."""
    for slot in available_slots(store, now):
        if slot.key == key:
            return slot
    return None


def hold_deadline(store: Store, slot_end: datetime) -> datetime:
    """Return when an order's holds lapse: the end of its slot plus the store's grace period."""
    return slot_end + timedelta(minutes=settings(store).grace_minutes)


def by_day(store: Store, slots: list[Slot]) -> list[tuple[date, list[Slot]]]:
    """Group slots by the store's local day, in order."""
    days: list[tuple[date, list[Slot]]] = []
    for slot in slots:
        day = slot.starts_at.astimezone(store.zone).date()
        if not days or days[-1][0] != day:
            days.append((day, []))
        days[-1][1].append(slot)
    return days
