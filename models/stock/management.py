"""The one way stock changes: receive, move, adjust, lock packages, place and release holds.

Every change of a package's quantity goes through move(), which decrements with a conditional
update (a decrement that would go below zero matches no row) and writes the StockMovement with
the quantity after. Writers lock packages in ascending id order, so two of them never wait on
each other in a circle. Everything runs in the caller's transaction; the caller commits.
"""

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.orm import attributes

from extensions import db
from models.base import utcnow
from models.catalog.products import Product
from models.stock.packages import Package, Reservation, StockMovement
from models.stock.queries import sellable, unreleased


class OutOfStock(Exception):
    """A decrement found less on the package than it takes (someone sold it meanwhile)."""

    def __init__(self, package: Package):
        super().__init__(f"package {package.tag} holds less than the decrement")
        self.package = package


def _locked(query: Select[Package]) -> list[Package]:
    # NO KEY UPDATE: a reservation or stock movement that only references a package does not
    # wait for (or deadlock with) a writer of the package.
    return list(
        db.session.scalars(
            query.order_by(Package.id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
    )


def lock_packages(ids: Iterable[int]) -> list[Package]:
    """Lock packages and read them again, in ascending id order."""
    return _locked(select(Package).where(Package.id.in_(sorted(ids))))


def lock_sellable(store_id: int, product_ids: Iterable[int], today: date) -> list[Package]:
    """Lock the sellable packages of some products and read them again, in ascending id order."""
    return _locked(
        select(Package).where(
            Package.store_id == store_id,
            Package.product_id.in_(sorted(product_ids)),
            sellable(today),
        )
    )


def _ledger(package: Package, delta: int, kind: str, after: int, **fields: Any) -> StockMovement:
    movement = StockMovement(
        store_id=package.store_id,
        package_id=package.id,
        kind=kind,
        delta=delta,
        quantity_after=after,
        **fields,
    )
    db.session.add(movement)
    return movement


def move(
    package: Package,
    delta: int,
    kind: str,
    *,
    order_id: int | None = None,
    user_id: int | None = None,
    reason_code: str | None = None,
    note: str | None = None,
) -> StockMovement:
    """Change a package's quantity by `delta` and write its ledger entry; OutOfStock below 0."""
    if delta == 0:
        raise ValueError("a stock movement changes the quantity")
    statement = (
        update(Package)
        .where(Package.id == package.id)
        .values(quantity=Package.quantity + delta, updated_at=utcnow())
        .returning(Package.quantity)
        .execution_options(synchronize_session=False)
    )
    if delta < 0:
        # The last defence: a decrement that would go below zero matches no row.
        statement = statement.where(Package.quantity >= -delta)
    after = db.session.execute(statement).scalar_one_or_none()
    if after is None:
        raise OutOfStock(package)
    attributes.set_committed_value(package, "quantity", after)
    return _ledger(
        package,
        delta,
        kind,
        after,
        order_id=order_id,
        user_id=user_id,
        reason_code=reason_code,
        note=note,
    )


def adjust(
    package: Package, delta: int, reason_code: str, note: str = "", user_id: int | None = None
) -> StockMovement:
    """Correct a package's quantity with the state's reason code (reported as an adjustment)."""
    if not reason_code.strip():
        raise ValueError("an adjustment needs the state's reason code")
    return move(
        package,
        delta,
        "adjustment",
        user_id=user_id,
        reason_code=reason_code.strip()[:60],
        note=note.strip()[:300] or None,
    )


def receive(
    product: Product,
    *,
    tag: str,
    quantity: int,
    unit: str,
    received_on: date,
    expires_on: date | None = None,
    lab_status: str = "passed",
    user_id: int | None = None,
) -> Package:
    """Add a package to a store's stock with its opening ledger entry."""
    if quantity <= 0:
        raise ValueError("a received package holds a positive quantity")
    package = Package(
        store_id=product.store_id,
        product=product,
        tag=tag,
        quantity=quantity,
        unit=unit,
        received_on=received_on,
        expires_on=expires_on,
        lab_status=lab_status,
    )
    db.session.add(package)
    db.session.flush()
    _ledger(package, quantity, "receive", quantity, user_id=user_id)
    return package


def ledger_total(package_id: int) -> int:
    """Return the sum of a package's stock movements (it always equals the quantity)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(StockMovement.delta), 0)).where(
            StockMovement.package_id == package_id
        )
    )
    return int(total or 0)


def hold(order_id: int, package_id: int, quantity: int, expires_at: datetime) -> Reservation:
    """Keep `quantity` of a package back for an online order until `expires_at`."""
    reservation = Reservation(
        order_id=order_id, package_id=package_id, quantity=quantity, expires_at=expires_at
    )
    db.session.add(reservation)
    return reservation


def held_packages(order_id: int) -> list[int]:
    """Return the ids of the packages an order's unreleased holds are on."""
    return list(
        db.session.scalars(
            select(Reservation.package_id).where(Reservation.order_id == order_id, unreleased())
        )
    )


def release_holds(order_id: int, now: datetime, product_id: int | None = None) -> int:
    """Release an order's unreleased holds (of one product's packages, if given); return count."""
    where: list[ColumnElement[bool]] = [Reservation.order_id == order_id, unreleased()]
    options: dict[str, Any] = {}
    if product_id is not None:
        where.append(
            Reservation.package_id.in_(select(Package.id).where(Package.product_id == product_id))
        )
        options["synchronize_session"] = False
    result = db.session.execute(
        update(Reservation).where(*where).values(released_at=now).execution_options(**options)
    )
    return getattr(result, "rowcount", 0) or 0


def release_expired_holds(now: datetime) -> int:
    """Mark every unreleased hold past its expiry as released; return how many."""
    result = db.session.execute(
        update(Reservation)
        .where(unreleased(), Reservation.expires_at <= now)
        .values(released_at=now)
    )
    return getattr(result, "rowcount", 0) or 0
