"""What stock can be sold and what holds keep back: the conditions every reader shares.

A package is sellable when it is not on hold, its lab test passed, it holds something and it is
not past its expiry on the store's business date. An online hold (a Reservation) is live until
it is released or it expires. What a buyer can take of a package is its quantity less the live
holds of other orders. Packages sell first-expiry-first (FEFO), then oldest received.
"""

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, bindparam, func, or_, select
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import BindParameter

from extensions import db
from models.base import utcnow
from models.stock.packages import Package, Reservation

# Order ids start at 1, so order_id 0 excludes no order.
NO_ORDER = 0


def live_hold(now: datetime | BindParameter[Any]) -> ColumnElement[bool]:
    """Return the condition of a hold that still keeps stock back: unreleased, unexpired."""
    return and_(Reservation.released_at.is_(None), Reservation.expires_at > now)


def unreleased() -> ColumnElement[bool]:
    """Return the condition of a hold not released yet (it may have expired)."""
    return Reservation.released_at.is_(None)


def _live_holds_of_others() -> ColumnElement[bool]:
    """Return other orders' live holds, with `now` and `order_id` bound when run."""
    return and_(live_hold(bindparam("now")), Reservation.order_id != bindparam("order_id"))


def held_sum_of_others(package_id: Any) -> Any:
    """Return SQL for what other orders' live holds keep of a package (binds now, order_id)."""
    return (
        select(func.coalesce(func.sum(Reservation.quantity), 0))
        .where(Reservation.package_id == package_id, _live_holds_of_others())
        .scalar_subquery()
    )


@cache
def _held_query():
    """Build the holds read once (it runs on every menu search and sale)."""
    return (
        select(Reservation.package_id, func.sum(Reservation.quantity))
        .where(
            Reservation.package_id.in_(bindparam("ids", expanding=True)),
            _live_holds_of_others(),
        )
        .group_by(Reservation.package_id)
    )


def held_by_others(
    package_ids: Sequence[int], order_id: int | None, now: datetime | None = None
) -> dict[int, int]:
    """Return {package id: quantity} kept by live holds of orders other than `order_id`."""
    if not package_ids:
        return {}
    params = {"ids": list(package_ids), "now": now or utcnow(), "order_id": order_id or NO_ORDER}
    return {package_id: int(held) for package_id, held in db.session.execute(_held_query(), params)}


def held_by_package(now: datetime) -> Subquery:
    """Return a subquery of (package_id, held): what all live holds keep back, per package."""
    return (
        select(Reservation.package_id, func.sum(Reservation.quantity).label("held"))
        .where(live_hold(now))
        .group_by(Reservation.package_id)
        .subquery()
    )


def free_column(held: Subquery) -> ColumnElement[int]:
    """Return SQL for a package's quantity less what `held` (from held_by_package) keeps."""
    return Package.quantity - func.coalesce(held.c.held, 0)


def available(package: Package, held: Mapping[int, int]) -> int:
    """Return what is free of a loaded package, given held_by_others' answer (may be < 0)."""
    return package.quantity - held.get(package.id, 0)


def sellable(today: date) -> ColumnElement[bool]:
    """Return the condition of a package that can be sold on the store's business date."""
    return and_(
        Package.on_hold.is_(False),
        Package.lab_status == "passed",
        Package.quantity > 0,
        or_(Package.expires_on.is_(None), Package.expires_on >= today),
    )


def unsellable_reason(package: Package, today: date) -> str | None:
    """Return why a loaded package cannot be sold on `today`, or None (quantity aside)."""
    tag = package.tag
    if package.on_hold:
        why = f" ({package.hold_reason})" if package.hold_reason else ""
        return f"Package {tag} is on hold{why} and cannot be sold."
    if package.lab_status == "failed":
        return f"Package {tag} failed its lab test and cannot be sold."
    if package.lab_status != "passed":
        return f"Package {tag} is waiting for its lab test results and cannot be sold yet."
    if package.expires_on is not None and package.expires_on < today:
        return f"Package {tag} expired on {package.expires_on:%b %-d, %Y} and cannot be sold."
    if not package.product.active:
        return f"{package.product.name} is switched off on the menu and cannot be sold."
    return None


def fefo_order() -> tuple[ColumnElement[Any] | QueryableAttribute[Any], ...]:
    """Return the ORDER BY of first-expiry-first: dated first, soonest, oldest received, id."""
    return (Package.expires_on.is_(None), Package.expires_on, Package.received_on, Package.id)


def fefo_key(package: Package) -> tuple[bool, date, date, int]:
    """Return the sort key of loaded packages in fefo_order."""
    return (
        package.expires_on is None,
        package.expires_on or date.min,
        package.received_on,
        package.id,
    )
