"""Finding what to sell: a scanned tag's package, a menu search, and the package to propose.

The package proposed for a product is the first sellable one in first-expiry-first order with
stock free after other orders' holds and this sale's own lines.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from extensions import db
from models.base import utcnow
from models.catalog.products import Product
from models.people.id_scan import looks_like_aamva
from models.sales.amounts import amount_label
from models.sales.errors import SaleError, StockConflict
from models.sales.orders import Order, OrderLine
from models.stock.packages import Package
from models.stock.queries import (
    NO_ORDER,
    available,
    fefo_order,
    held_by_others,
    held_sum_of_others,
    sellable,
    unsellable_reason,
)
from models.stores.store import Store


@dataclass(frozen=True)
class Proposal:
    """A product found by search and the package the register would sell it from."""

    product: Product
    package: Package | None
    available: int


def in_cart(order: Order, package_id: int, skip: OrderLine | None = None) -> int:
    """Return how much of a package this sale's lines (but `skip`) already take."""
    return sum(
        line.quantity for line in order.lines if line.package_id == package_id and line is not skip
    )


def check_stock(
    order: Order,
    package: Package,
    wanted: int,
    skip: OrderLine | None = None,
    held: int | None = None,
) -> None:
    """Refuse `wanted` of a package that cannot be sold or has not that much free."""
    # `held` is what other orders hold of the package, when the caller read it with the package.
    reason = unsellable_reason(package, order.store.business_date())
    if reason:
        raise StockConflict(reason)
    holds = held_by_others([package.id], order.id) if held is None else {package.id: held}
    free = available(package, holds) - in_cart(order, package.id, skip)
    if wanted > free:
        left = max(free, 0)
        name = package.product.name
        if left == 0:
            raise StockConflict(f"Out of stock: package {package.tag} ({name}) has none left.")
        raise StockConflict(
            f"Out of stock: package {package.tag} ({name}) has only "
            f"{amount_label(package, left)} left."
        )


def normalize_tag(text: str) -> str:
    """Return a scanned tag without spaces, dashes or the scanner's prefix/suffix noise."""
    return "".join(ch for ch in (text or "") if ch.isalnum()).upper()


@cache
def _package_by_tag():
    """Build the scan's read once: the package, its product, and what other orders hold of it."""
    return (
        select(Package, held_sum_of_others(Package.id))
        .where(Package.store_id == bindparam("store_id"), Package.tag == bindparam("tag"))
        .options(joinedload(Package.product))
    )


def find_package(store: Store, scanned: str, order: Order | None = None) -> tuple[Package, int]:
    """Return a scanned tag's package and what other orders hold of it, or refuse the scan."""
    if looks_like_aamva(scanned):
        raise SaleError("That is a driver's license. Check customers in from the queue screen.")
    tag = normalize_tag(scanned)
    if not tag:
        raise SaleError("Scan a package tag, or search the menu.")
    params = {
        "store_id": store.id,
        "tag": tag,
        "now": utcnow(),
        "order_id": order.id if order else NO_ORDER,
    }
    found = db.session.execute(_package_by_tag(), params).first()
    if found is not None:
        return found[0], int(found[1])
    elsewhere = db.session.scalar(
        select(func.count(Package.id)).where(Package.tag == tag, Package.store_id != store.id)
    )
    if elsewhere:
        raise StockConflict(
            f"Package {tag} belongs to another store's inventory and cannot be sold here."
        )
    raise SaleError(f"Unknown tag {tag}: no package with this tag in this store. Scan it again.")


def propose(store: Store, products: Sequence[Product], order: Order | None) -> list[Proposal]:
    """Pick the package each product would sell from: first-expiring first, then oldest."""
    if not products:
        return []
    today = store.business_date()
    ids = [p.id for p in products]
    packages = db.session.scalars(
        select(Package)
        .where(
            Package.product_id.in_(ids),
            Package.store_id == store.id,
            sellable(today),
        )
        .order_by(*fefo_order())
    ).all()
    held = held_by_others([p.id for p in packages], order.id if order else None)
    chosen: dict[int, Package] = {}
    totals: dict[int, int] = {}
    for package in packages:
        free = available(package, held)
        if order is not None:
            free -= in_cart(order, package.id)
        if free <= 0:
            continue
        totals[package.product_id] = totals.get(package.product_id, 0) + free
        chosen.setdefault(package.product_id, package)
    result = []
    for product in products:
        result.append(Proposal(product, chosen.get(product.id), totals.get(product.id, 0)))
    return result


def search_menu(store: Store, text: str, order: Order | None, limit: int = 10) -> list[Proposal]:
    """Find active products by name, brand, strain or SKU, each with its proposed package."""
    text = (text or "").strip()
    if len(text) < 2:
        return []
    query = select(Product).where(Product.store_id == store.id, Product.active.is_(True))
    for word in text.lower().split():
        haystack = func.lower(
            Product.name + " " + Product.brand + " " + Product.sku + " " + Product.category
        )
        query = query.where(haystack.contains(word, autoescape=True))
    products = db.session.scalars(query.order_by(Product.name).limit(limit)).all()
    return propose(store, products, order)
