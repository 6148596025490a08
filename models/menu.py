"""What the online menu shows: products that are visible, sellable, and in stock after holds."""

from sqlalchemy import and_, func, select

from extensions import db
from models.base import utcnow
from models.catalog import MENU_CATEGORIES, Product
from models.inventory import Package, Reservation
from models.stores import Store


def online_stores() -> list[Store]:
    """Return the stores that take online orders, by name."""
    return list(
        db.session.scalars(
            select(Store).where(Store.online_ordering.is_(True)).order_by(Store.name)
        )
    )


def menu(store: Store, category: str | None = None) -> list[tuple[Product, int]]:
    """Return the store's visible products with their available quantity (on hand minus holds)."""
    now = utcnow()
    holds = (
        select(Reservation.package_id, func.sum(Reservation.quantity).label("held"))
        .where(Reservation.released_at.is_(None), Reservation.expires_at > now)
        .group_by(Reservation.package_id)
        .subquery()
    )
    available = func.coalesce(func.sum(Package.quantity - func.coalesce(holds.c.held, 0)), 0).label(
        "available"
    )
    query = (
        select(Product, available)
        .join(
            Package,
            and_(
                Package.product_id == Product.id,
                Package.on_hold.is_(False),
                Package.lab_status == "passed",
                Package.quantity > 0,
            ),
        )
        .outerjoin(holds, holds.c.package_id == Package.id)
        .where(
            Product.store_id == store.id,
            Product.active.is_(True),
            Product.online_visible.is_(True),
        )
        .group_by(Product.id)
        .having(available > 0)
        .order_by(Product.category, Product.brand, Product.name)
    )
    if category in MENU_CATEGORIES:
        query = query.where(Product.category == category)
    return [(product, int(qty)) for product, qty in db.session.execute(query)]


def menu_categories(store: Store) -> list[str]:
    """Return the menu sections that have at least one visible product, in menu order."""
    present = set(
        db.session.scalars(
            select(Product.category)
            .where(
                Product.store_id == store.id,
                Product.active.is_(True),
                Product.online_visible.is_(True),
            )
            .distinct()
        )
    )
    return [c for c in MENU_CATEGORIES if c in present]
