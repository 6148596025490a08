"""Orders from the register and the web, their lines (snapshots) and tenders."""

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import utcnow
from models.catalog.products import Product
from models.model import Model
from models.people.customers import Customer
from models.people.users import User
from models.stores.store import Store

ORDER_STATUSES = (
    "open",
    "placed",
    "accepted",
    "packed",
    "ready",
    "completed",
    "voided",
    "cancelled",
    "expired",
)
TENDER_KINDS = ("cash", "debit", "gift_card", "store_credit")


class Order(Model):
    """A sale in progress or done, from the register or the online menu."""

    __tablename__ = "sale_order"
    __table_args__ = (
        CheckConstraint("channel IN ('register', 'web')", name="channel"),
        CheckConstraint(
            "status IN ('open', 'placed', 'accepted', 'packed', 'ready', 'completed', 'voided', "
            "'cancelled', 'expired')",
            name="status",
        ),
        CheckConstraint("subtotal_cents >= 0", name="subtotal_nonnegative"),
        CheckConstraint("discount_cents >= 0", name="discount_nonnegative"),
        CheckConstraint("tax_cents >= 0", name="tax_nonnegative"),
        CheckConstraint("total_cents >= 0", name="total_nonnegative"),
        CheckConstraint(
            "discount_kind IS NULL OR discount_kind IN ('percent', 'amount')", name="discount_kind"
        ),
        # The register's queue and today's sales read a store's orders by status.
        Index("ix_sale_order_store_status", "store_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="open")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    # The patient a caregiver bought for, fixed with the sale: the receipt and the state report
    # name this patient even if the caregiver's link changes later.
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    budtender_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The register's complete button sends this; a retried submit finds the same sale.
    client_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    customer_class: Mapped[str] = mapped_column(String(16), default="adult_use")
    pickup_at: Mapped[datetime | None]
    # Online orders: the end of the pickup slot, and when the holds lapse (slot end + grace).
    pickup_until: Mapped[datetime | None]
    hold_expires_at: Mapped[datetime | None] = mapped_column(index=True)
    # The checkout form sends this once per attempt; a double-click finds the same order.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    accepted_at: Mapped[datetime | None]
    packed_at: Mapped[datetime | None]
    ready_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    expired_at: Mapped[datetime | None]
    subtotal_cents: Mapped[int] = mapped_column(default=0)
    discount_cents: Mapped[int] = mapped_column(default=0)
    discount_reason: Mapped[str | None] = mapped_column(String(200))
    # A discount on the whole sale as entered (percent in hundredths or cents), spread over the
    # lines; discount_cents is every discount on the sale, lines' own included.
    discount_kind: Mapped[str | None] = mapped_column(String(8))
    discount_value: Mapped[int | None]
    discount_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # When a person checked the buyer's ID for this sale (check-in or pickup), and the keyed
    # hash of that ID's number: an anonymous walk-in's earlier sales count toward their limits
    # through it, with no name or number kept.
    id_checked_at: Mapped[datetime | None]
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    tax_cents: Mapped[int] = mapped_column(default=0)
    total_cents: Mapped[int] = mapped_column(default=0)
    tax_lines: Mapped[list] = mapped_column(JSON, default=list)
    business_date: Mapped[date | None] = mapped_column(index=True)
    completed_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(String(300))
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    store: Mapped[Store] = relationship()
    customer: Mapped[Customer | None] = relationship(foreign_keys=[customer_id])
    patient: Mapped[Customer | None] = relationship(foreign_keys=[patient_id])
    budtender: Mapped[User | None] = relationship(foreign_keys=[budtender_id])
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    tenders: Mapped[list["Tender"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Tender.id"
    )


class OrderLine(Model):
    """One line of an order, with the product as it was when sold and the package it came from."""

    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_cents >= 0", name="unit_price_nonnegative"),
        CheckConstraint("discount_cents >= 0", name="discount_nonnegative"),
        CheckConstraint("line_total_cents >= 0", name="line_total_nonnegative"),
        CheckConstraint("returned_quantity >= 0", name="returned_nonnegative"),
        CheckConstraint("sale_discount_cents >= 0", name="sale_discount_nonnegative"),
        CheckConstraint(
            "discount_kind IS NULL OR discount_kind IN ('percent', 'amount')", name="discount_kind"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("sale_order.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    package_id: Mapped[int | None] = mapped_column(ForeignKey("package.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    brand: Mapped[str] = mapped_column(String(80))
    sku: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(16))
    limit_category: Mapped[str | None] = mapped_column(String(20))
    package_tag: Mapped[str | None] = mapped_column(String(32))
    # Units for packaged goods, milligrams for goods sold by weight.
    quantity: Mapped[int]
    # What an online customer asked for, when packing weighed out a different amount.
    ordered_quantity: Mapped[int | None]
    unit: Mapped[str] = mapped_column(String(8), default="each")
    unit_price_cents: Mapped[int]
    net_weight_mg: Mapped[int | None]
    thc_mg: Mapped[int | None]
    thc_pct_bp: Mapped[int | None]
    discount_cents: Mapped[int] = mapped_column(default=0)
    discount_reason: Mapped[str | None] = mapped_column(String(200))
    # The line's own discount as entered (percent in hundredths or cents); discount_cents is
    # its amount, sale_discount_cents the line's share of a discount on the whole sale.
    discount_kind: Mapped[str | None] = mapped_column(String(8))
    discount_value: Mapped[int | None]
    discount_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    sale_discount_cents: Mapped[int] = mapped_column(default=0)
    line_total_cents: Mapped[int] = mapped_column(default=0)
    returned_quantity: Mapped[int] = mapped_column(default=0)

    order: Mapped[Order] = relationship(back_populates="lines")
    # Read-only: lines keep their own snapshot; the product is read for limits and search.
    product: Mapped[Product] = relationship(viewonly=True)


class Tender(Model):
    """A payment toward an order; cash records what was handed over and the change."""

    __tablename__ = "tender"
    __table_args__ = (
        CheckConstraint("kind IN ('cash', 'debit', 'gift_card', 'store_credit')", name="kind"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("change_cents >= 0", name="change_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("sale_order.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int]
    tendered_cents: Mapped[int | None]
    change_cents: Mapped[int] = mapped_column(default=0)
    reference: Mapped[str | None] = mapped_column(String(64))
    # Cash goes into (and change comes out of) one open drawer.
    drawer_id: Mapped[int | None] = mapped_column(ForeignKey("cash_drawer.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(back_populates="tenders")
