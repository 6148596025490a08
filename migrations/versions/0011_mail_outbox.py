"""Mail outbox: e-mails written with the order, reset or alert they belong to, sent later.

Reviewed by hand: one new table, so no existing table is touched (SQLite rebuilds nothing). A
mail names its recipient (a customer or a staff member, exactly one) instead of holding an
address; its body is encrypted and wiped once sent. The relay reads pending mails by status and
next try (composite index).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:30:00

"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, models.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "outbox_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=120), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body_enc", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        _when("claimed_until"),
        _when("send_by"),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        _when("created_at", nullable=False),
        _when("sent_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'skipped')",
            name=op.f("ck_outbox_mail_status"),
        ),
        sa.CheckConstraint(
            "(customer_id IS NULL) <> (user_id IS NULL)",
            name=op.f("ck_outbox_mail_one_recipient"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_outbox_mail_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_outbox_mail_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_mail")),
    )
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_mail_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_mail_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            "ix_outbox_mail_status_next", ["status", "next_attempt_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_mail_status_next")
        batch_op.drop_index(batch_op.f("ix_outbox_mail_user_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_mail_customer_id"))

    op.drop_table("outbox_mail")
