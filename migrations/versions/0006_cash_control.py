"""Cash control: the blind drawer count and its approval, returns as records, the store's limits.

Reviewed by hand: a drawer records who counted it and when (counted and still open means it
waits for a manager) and the manager who approved an over/short beyond the store's allowance,
with the reason; a return is a row (sale_return) with its lines (sale_return_line), its refund by
tender, the manager who approved it, and the return form's token (unique, so a retried submit
finds the first return); the day's net revenue reads returns by store and business day. The
store gains the over/short allowance and the refund amount and age beyond which a manager
approves, with defaults for existing stores.

The drawer's two user columns get named foreign keys, so SQLite rebuilds cash_drawer (env.py
turns foreign keys off for migrations, so its drawer entries and tenders stay); every other
change to an existing table is an added column.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:00:00

"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

DRAWER_USERS = ("counted_by_id", "approved_by_id")


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, models.base.UTCDateTime(timezone=True), nullable=nullable)


def _fk_name(column: str) -> str:
    return f"fk_cash_drawer_{column}_user_account"


def upgrade():
    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("drawer_variance_cents", sa.Integer(), nullable=False, server_default="500")
        )
        batch_op.add_column(
            sa.Column(
                "refund_approval_cents", sa.Integer(), nullable=False, server_default="10000"
            )
        )
        batch_op.add_column(
            sa.Column("refund_approval_days", sa.Integer(), nullable=False, server_default="7")
        )

    with op.batch_alter_table("cash_drawer", schema=None) as batch_op:
        for column in DRAWER_USERS:
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=True))
            batch_op.create_foreign_key(_fk_name(column), "user_account", [column], ["id"])
        batch_op.add_column(_when("counted_at"))
        batch_op.add_column(sa.Column("approval_reason", sa.String(length=300), nullable=True))

    op.create_table(
        "sale_return",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("drawer_id", sa.Integer(), nullable=True),
        sa.Column("client_token", sa.String(length=64), nullable=True),
        sa.Column("business_date", sa.Date(), nullable=False),
        _when("created_at", nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("cash_cents", sa.Integer(), nullable=False),
        sa.Column("card_cents", sa.Integer(), nullable=False),
        sa.CheckConstraint("card_cents >= 0", name=op.f("ck_sale_return_card_nonnegative")),
        sa.CheckConstraint("cash_cents >= 0", name=op.f("ck_sale_return_cash_nonnegative")),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["user_account.id"],
            name=op.f("fk_sale_return_approved_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["drawer_id"], ["cash_drawer.id"], name=op.f("fk_sale_return_drawer_id_cash_drawer")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sale_order.id"], name=op.f("fk_sale_return_order_id_sale_order")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_sale_return_store_id_store")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_sale_return_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sale_return")),
        sa.UniqueConstraint("client_token", name=op.f("uq_sale_return_client_token")),
    )
    with op.batch_alter_table("sale_return", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sale_return_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "ix_sale_return_store_business_date", ["store_id", "business_date"], unique=False
        )

    op.create_table(
        "sale_return_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("disposition", sa.String(length=8), nullable=False),
        sa.Column("refund_cents", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "disposition IN ('restock', 'destroy')", name=op.f("ck_sale_return_line_disposition")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_sale_return_line_quantity_positive")),
        sa.CheckConstraint(
            "refund_cents >= 0", name=op.f("ck_sale_return_line_refund_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_line.id"],
            name=op.f("fk_sale_return_line_order_line_id_order_line"),
        ),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["sale_return.id"],
            name=op.f("fk_sale_return_line_return_id_sale_return"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sale_return_line")),
    )
    with op.batch_alter_table("sale_return_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sale_return_line_order_line_id"), ["order_line_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sale_return_line_return_id"), ["return_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("sale_return_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sale_return_line_return_id"))
        batch_op.drop_index(batch_op.f("ix_sale_return_line_order_line_id"))
    op.drop_table("sale_return_line")
    with op.batch_alter_table("sale_return", schema=None) as batch_op:
        batch_op.drop_index("ix_sale_return_store_business_date")
        batch_op.drop_index(batch_op.f("ix_sale_return_order_id"))
    op.drop_table("sale_return")

    with op.batch_alter_table("cash_drawer", schema=None) as batch_op:
        batch_op.drop_column("approval_reason")
        batch_op.drop_column("counted_at")
        for column in DRAWER_USERS:
            batch_op.drop_constraint(_fk_name(column), type_="foreignkey")
            batch_op.drop_column(column)

    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.drop_column("refund_approval_days")
        batch_op.drop_column("refund_approval_cents")
        batch_op.drop_column("drawer_variance_cents")
