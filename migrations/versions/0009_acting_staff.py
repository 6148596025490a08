"""Who is acting lives in the server-side session: the store, the operator, activity, the lock.

Reviewed by hand: a staff browser's register state moves from the signed cookie to its
login_session row, so a copied cookie cannot unlock a locked screen or act as someone who
handed over. store_id is the store the browser works at (managers on duty are found by it);
operator_id is who last entered a PIN (NULL: who signed in); active_at is the last time a person
used the browser (polls do not count), filled from last_seen_at for existing rows; locked_at is
set while the screen waits for a PIN. Nothing references login_session, so SQLite rebuilding it
(for the foreign keys) cascades nowhere.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00

"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("store_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("operator_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("active_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("locked_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE login_session SET active_at = last_seen_at")
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.alter_column(
            "active_at", existing_type=models.base.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_login_session_store_id_store"),
            "store",
            ["store_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_login_session_operator_id_user_account"),
            "user_account",
            ["operator_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_login_session_store_id"), ["store_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_login_session_operator_id"), ["operator_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_session_operator_id"))
        batch_op.drop_index(batch_op.f("ix_login_session_store_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_login_session_operator_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("fk_login_session_store_id_store"), type_="foreignkey")
        batch_op.drop_column("locked_at")
        batch_op.drop_column("active_at")
        batch_op.drop_column("operator_id")
        batch_op.drop_column("store_id")
