"""Packages (the units the state tracks), the stock ledger, and online holds: the tables.

The rules that read and change them live in models.stock.queries and models.stock.management.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import utcnow
from models.catalog.products import Product
from models.model import Model
from models.units import stock

PACKAGE_UNITS = ("each", "grams")
LAB_STATUSES = ("passed", "pending", "failed")
MOVEMENT_KINDS = ("receive", "sale", "void", "return", "adjustment", "count", "destroy")


class Package(Model):
    """A state-tagged package: each units, or grams held as integer milligrams."""

    __tablename__ = "package"
    __table_args__ = (
        UniqueConstraint("store_id", "tag"),
        CheckConstraint("quantity >= 0", name="quantity_nonnegative"),
        CheckConstraint("unit IN ('each', 'grams')", name="unit"),
        CheckConstraint("lab_status IN ('passed', 'pending', 'failed')", name="lab_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    tag: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[int]
    unit: Mapped[str] = mapped_column(String(8))
    lab_status: Mapped[str] = mapped_column(String(8), default="passed")
    on_hold: Mapped[bool] = mapped_column(default=False)
    hold_reason: Mapped[str | None] = mapped_column(String(200))
    # The lab's certificate of analysis for this package, when the store has a link to it.
    coa_url: Mapped[str | None] = mapped_column(String(300))
    received_on: Mapped[date]
    expires_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship(back_populates="packages")

    @property
    def display_quantity(self) -> str:
        """Return the quantity as a person reads it (units, or exact grams)."""
        return stock(self.quantity, self.unit)

    def __repr__(self) -> str:
        return f"<Package {self.tag}>"


class StockMovement(Model):
    """One change to a package's quantity; the ledger always sums to the package's quantity."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('receive', 'sale', 'void', 'return', 'adjustment', 'count', 'destroy')",
            name="kind",
        ),
        CheckConstraint("delta <> 0", name="delta_nonzero"),
        CheckConstraint("quantity_after >= 0", name="quantity_after_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"))
    package_id: Mapped[int] = mapped_column(ForeignKey("package.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    delta: Mapped[int]
    quantity_after: Mapped[int]
    reason_code: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(String(300))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sale_order.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    package: Mapped[Package] = relationship()


class Reservation(Model):
    """An online order's hold on a package until it expires or is released."""

    __tablename__ = "reservation"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sale_order.id", ondelete="CASCADE"))
    package_id: Mapped[int] = mapped_column(ForeignKey("package.id"), index=True)
    quantity: Mapped[int]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    released_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
