"""Storefront: carts, pickup settings, online order fields, password resets, COA links.

Reviewed by hand: a cart is found by the hash of the token its session holds and becomes at most
one order (unique order_id); an online order remembers its pickup slot, when its holds lapse
(indexed for the release job), and the checkout's idempotency key (unique index, so a double
submit finds the first order); password reset links keep only a hash of their token. Every change
to an existing table is an added nullable column or an index, so SQLite never rebuilds a table
(a rebuild would cascade-delete the rows that reference it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 12:00:00

"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, models.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "password_reset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        _when("created_at", nullable=False),
        _when("expires_at", nullable=False),
        _when("used_at"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_password_reset_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_reset_token_hash")),
    )
    with op.batch_alter_table("password_reset", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_password_reset_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "cart",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_cart_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["sale_order.id"],
            name=op.f("fk_cart_order_id_sale_order"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_cart_store_id_store"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart")),
        sa.UniqueConstraint("order_id", name=op.f("uq_cart_order_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_cart_token_hash")),
    )
    with op.batch_alter_table("cart", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cart_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "cart_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cart_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        _when("created_at", nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_cart_line_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["cart.id"], name=op.f("fk_cart_line_cart_id_cart"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_cart_line_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_line")),
        sa.UniqueConstraint("cart_id", "product_id", name=op.f("uq_cart_line_cart_id_product_id")),
    )

    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ordered_quantity", sa.Integer(), nullable=True))

    with op.batch_alter_table("package", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coa_url", sa.String(length=300), nullable=True))

    with op.batch_alter_table("sale_order", schema=None) as batch_op:
        batch_op.add_column(_when("pickup_until"))
        batch_op.add_column(_when("hold_expires_at"))
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=64), nullable=True))
        batch_op.add_column(_when("accepted_at"))
        batch_op.add_column(_when("packed_at"))
        batch_op.add_column(_when("ready_at"))
        batch_op.add_column(_when("cancelled_at"))
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=200), nullable=True))
        batch_op.add_column(_when("expired_at"))
        batch_op.create_index(
            batch_op.f("ix_sale_order_hold_expires_at"), ["hold_expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sale_order_idempotency_key"), ["idempotency_key"], unique=True
        )

    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pickup_slot_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pickup_slot_capacity", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pickup_grace_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pickup_lead_minutes", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.drop_column("pickup_lead_minutes")
        batch_op.drop_column("pickup_grace_minutes")
        batch_op.drop_column("pickup_slot_capacity")
        batch_op.drop_column("pickup_slot_minutes")

    with op.batch_alter_table("sale_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sale_order_idempotency_key"))
        batch_op.drop_index(batch_op.f("ix_sale_order_hold_expires_at"))
        batch_op.drop_column("expired_at")
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("ready_at")
        batch_op.drop_column("packed_at")
        batch_op.drop_column("accepted_at")
        batch_op.drop_column("idempotency_key")
        batch_op.drop_column("hold_expires_at")
        batch_op.drop_column("pickup_until")

    with op.batch_alter_table("package", schema=None) as batch_op:
        batch_op.drop_column("coa_url")

    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.drop_column("ordered_quantity")

    op.drop_table("cart_line")
    with op.batch_alter_table("cart", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cart_customer_id"))
    op.drop_table("cart")
    with op.batch_alter_table("password_reset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_reset_customer_id"))
    op.drop_table("password_reset")
