"""Figures for the register's and the back office's home screens."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from extensions import db
from models.catalog.products import Product
from models.sales.orders import Order
from models.sales.returns import refunds_on
from models.stock.packages import Package
from models.stores.store import Store

LOW_STOCK_UNITS = 5


@dataclass(frozen=True)
class StoreSummary:
    """Today's sales and the shape of the stock of one store."""

    sales_today: int
    # Net: today's sales less today's refunds (a refund counts on the day it is handed back).
    revenue_today_cents: int
    refunds_today_cents: int
    active_products: int
    packages_in_stock: int
    low_stock_products: int
    open_online_orders: int


def summary(store: Store) -> StoreSummary:
    """Return today's figures for a store (its business day, its time zone)."""
    today = store.business_date()
    sales, revenue = db.session.execute(
        select(func.count(Order.id), func.coalesce(func.sum(Order.total_cents), 0)).where(
            Order.store_id == store.id, Order.status == "completed", Order.business_date == today
        )
    ).one()
    active = db.session.scalars(
        select(func.count(Product.id)).where(Product.store_id == store.id, Product.active.is_(True))
    ).one()
    in_stock = db.session.scalars(
        select(func.count(Package.id)).where(Package.store_id == store.id, Package.quantity > 0)
    ).one()
    each_totals = (
        select(Package.product_id, func.sum(Package.quantity).label("units"))
        .where(Package.store_id == store.id, Package.unit == "each")
        .group_by(Package.product_id)
        .subquery()
    )
    low = db.session.scalars(
        select(func.count()).select_from(each_totals).where(each_totals.c.units < LOW_STOCK_UNITS)
    ).one()
    open_online = db.session.scalars(
        select(func.count(Order.id)).where(
            Order.store_id == store.id,
            Order.channel == "web",
            Order.status.in_(("placed", "accepted", "packed", "ready")),
        )
    ).one()
    refunds = refunds_on(store, today)
    return StoreSummary(sales, int(revenue) - refunds, refunds, active, in_stock, low, open_online)


def online_queue(store: Store, limit: int = 20) -> list[Order]:
    """Return the store's online orders waiting to be packed or picked up, oldest first."""
    return list(
        db.session.scalars(
            select(Order)
            .where(
                Order.store_id == store.id,
                Order.channel == "web",
                Order.status.in_(("placed", "accepted", "packed", "ready")),
            )
            .order_by(Order.created_at)
            .limit(limit)
        )
    )


def expiring_packages(store: Store, days: int = 30) -> list[Package]:
    """Return packages in stock that expire within `days`, soonest first."""
    horizon = store.business_date() + timedelta(days=days)
    return list(
        db.session.scalars(
            select(Package)
            .where(
                Package.store_id == store.id,
                Package.quantity > 0,
                Package.expires_on.is_not(None),
                Package.expires_on <= horizon,
            )
            .order_by(Package.expires_on)
            .limit(10)
        )
    )
