"""Packages (the units the state tracks), the stock ledger, and online holds."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
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


def receive_package(
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
    db.session.add(
        StockMovement(
            store_id=product.store_id,
            package_id=package.id,
            kind="receive",
            delta=quantity,
            quantity_after=quantity,
            user_id=user_id,
        )
    )
    return package


def held_quantity(package_id: int, now: datetime | None = None) -> int:
    """Return how much of a package unexpired, unreleased online holds keep back."""
    now = now or utcnow()
    return db.session.scalar(
        select(func.coalesce(func.sum(Reservation.quantity), 0)).where(
            Reservation.package_id == package_id,
            Reservation.released_at.is_(None),
            Reservation.expires_at > now,
        )
    )


def ledger_total(package_id: int) -> int:
    """Return the sum of a package's stock movements."""
    return db.session.scalar(
        select(func.coalesce(func.sum(StockMovement.delta), 0)).where(
            StockMovement.package_id == package_id
        )
    )
