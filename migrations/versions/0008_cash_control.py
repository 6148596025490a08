"""Cash control: the blind drawer count and its approval, and the store's cash limits.

Reviewed by hand: a drawer records who counted it and when (counted and still open means it
waits for a manager) and the manager who approved an over/short beyond the store's allowance,
with the reason. The store gains the over/short allowance and the refund amount and age beyond
which a manager approves, with defaults for existing stores.

The drawer's two user columns get named foreign keys, so SQLite rebuilds cash_drawer (env.py
turns foreign keys off for migrations, so its drawer entries and tenders stay); every other
change to an existing table is an added column.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-01 12:00:00

"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = "0008"
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
                "refund_approval_cents", sa.Integer(), nullable=False, server_default="5000"
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


def downgrade():
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
