"""The register: cash drawers, discounts as entered, ID checks, and the indexes a sale reads by.

Reviewed by hand: a drawer session and the cash that left it other than as change are rows
(cash_drawer, drawer_entry), and each cash tender names its drawer so expected cash is a sum;
discounts keep what was entered (percent or amount) and who approved it; an order records when
the buyer's ID was checked; lines and tenders get the order_id indexes a sale is loaded by.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 09:00:00

"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("discount_approval_bp", sa.Integer(), nullable=False, server_default="1000")
        )
        batch_op.add_column(
            sa.Column(
                "discount_approval_cents", sa.Integer(), nullable=False, server_default="2000"
            )
        )

    op.create_table(
        "cash_drawer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opening_float_cents", sa.Integer(), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("counted_cents", sa.Integer(), nullable=True),
        sa.Column("expected_cents", sa.Integer(), nullable=True),
        sa.Column("over_short_cents", sa.Integer(), nullable=True),
        sa.Column("close_note", sa.String(length=300), nullable=True),
        sa.CheckConstraint(
            "opening_float_cents >= 0", name=op.f("ck_cash_drawer_float_nonnegative")
        ),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_cash_drawer_status")),
        sa.ForeignKeyConstraint(
            ["closed_by_id"],
            ["user_account.id"],
            name=op.f("fk_cash_drawer_closed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"],
            ["user_account.id"],
            name=op.f("fk_cash_drawer_opened_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["store.id"],
            name=op.f("fk_cash_drawer_store_id_store"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_drawer")),
    )
    with op.batch_alter_table("cash_drawer", schema=None) as batch_op:
        batch_op.create_index("ix_cash_drawer_store_status", ["store_id", "status"], unique=False)

    op.create_table(
        "drawer_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("drawer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_drawer_entry_amount_positive")),
        sa.CheckConstraint(
            "kind IN ('drop', 'paid_out', 'refund')", name=op.f("ck_drawer_entry_kind")
        ),
        sa.ForeignKeyConstraint(
            ["drawer_id"],
            ["cash_drawer.id"],
            name=op.f("fk_drawer_entry_drawer_id_cash_drawer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sale_order.id"], name=op.f("fk_drawer_entry_order_id_sale_order")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_drawer_entry_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drawer_entry")),
    )
    with op.batch_alter_table("drawer_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_drawer_entry_drawer_id"), ["drawer_id"], unique=False
        )

    with op.batch_alter_table("sale_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("discount_kind", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("discount_value", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("discount_approved_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("id_checked_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_sale_order_discount_approved_by_id_user_account"),
            "user_account",
            ["discount_approved_by_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_sale_order_discount_kind"),
            "discount_kind IS NULL OR discount_kind IN ('percent', 'amount')",
        )
        batch_op.create_index("ix_sale_order_store_status", ["store_id", "status"], unique=False)

    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("discount_kind", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("discount_value", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("discount_approved_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("sale_discount_cents", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_order_line_discount_approved_by_id_user_account"),
            "user_account",
            ["discount_approved_by_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_order_line_discount_kind"),
            "discount_kind IS NULL OR discount_kind IN ('percent', 'amount')",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_order_line_sale_discount_nonnegative"), "sale_discount_cents >= 0"
        )
        batch_op.create_index(batch_op.f("ix_order_line_order_id"), ["order_id"], unique=False)
    # The default only filled existing rows; new rows always carry their own value.
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.alter_column("sale_discount_cents", server_default=None)

    with op.batch_alter_table("tender", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drawer_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tender_drawer_id_cash_drawer"), "cash_drawer", ["drawer_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_tender_drawer_id"), ["drawer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tender_order_id"), ["order_id"], unique=False)


def downgrade():
    with op.batch_alter_table("tender", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tender_order_id"))
        batch_op.drop_index(batch_op.f("ix_tender_drawer_id"))
        batch_op.drop_constraint(batch_op.f("fk_tender_drawer_id_cash_drawer"), type_="foreignkey")
        batch_op.drop_column("drawer_id")

    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_line_order_id"))
        batch_op.drop_constraint(
            batch_op.f("ck_order_line_sale_discount_nonnegative"), type_="check"
        )
        batch_op.drop_constraint(batch_op.f("ck_order_line_discount_kind"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_order_line_discount_approved_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("sale_discount_cents")
        batch_op.drop_column("discount_approved_by_id")
        batch_op.drop_column("discount_value")
        batch_op.drop_column("discount_kind")

    with op.batch_alter_table("sale_order", schema=None) as batch_op:
        batch_op.drop_index("ix_sale_order_store_status")
        batch_op.drop_constraint(batch_op.f("ck_sale_order_discount_kind"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_sale_order_discount_approved_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("id_checked_at")
        batch_op.drop_column("discount_approved_by_id")
        batch_op.drop_column("discount_value")
        batch_op.drop_column("discount_kind")

    with op.batch_alter_table("drawer_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drawer_entry_drawer_id"))
    op.drop_table("drawer_entry")
    with op.batch_alter_table("cash_drawer", schema=None) as batch_op:
        batch_op.drop_index("ix_cash_drawer_store_status")
    op.drop_table("cash_drawer")

    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.drop_column("discount_approval_cents")
        batch_op.drop_column("discount_approval_bp")
