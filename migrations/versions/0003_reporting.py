"""Reporting to the state: per-license lanes, the attempt log, reconciliation, outbox columns.

Reviewed by hand: the sender's claim on a license is a row (compliance_license) so one request at a
time per license holds across workers and machines; every exchange with the state is kept
(compliance_attempt); reconciliation runs and their differences are rows a person can settle.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 18:00:00

"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("compliance_report", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("request_id", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("in_doubt", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("deadline_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_attempt_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_http_status", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("progress", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.create_index(
            "ix_compliance_report_store_queue", ["store_id", "status", "id"], unique=False
        )
    # The defaults only filled existing rows; new rows always carry their own values.
    with op.batch_alter_table("compliance_report", schema=None) as batch_op:
        batch_op.alter_column("request_id", server_default=None)
        batch_op.alter_column("in_doubt", server_default=None)
        batch_op.alter_column("progress", server_default=None)

    op.create_table(
        "compliance_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("started_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("url", sa.String(length=300), nullable=False),
        sa.Column("request_body", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["compliance_report.id"],
            name=op.f("fk_compliance_attempt_report_id_compliance_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_attempt")),
    )
    with op.batch_alter_table("compliance_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compliance_attempt_report_id"), ["report_id"], unique=False
        )

    op.create_table(
        "compliance_license",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.Column("paused_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_request_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("not_before", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["store.id"],
            name=op.f("fk_compliance_license_store_id_store"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_license")),
        sa.UniqueConstraint("store_id", name=op.f("uq_compliance_license_store_id")),
    )

    op.create_table(
        "reconciliation_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("started_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("state_receipts", sa.Integer(), nullable=False),
        sa.Column("our_receipts", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["store.id"],
            name=op.f("fk_reconciliation_run_store_id_store"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_run")),
    )
    with op.batch_alter_table("reconciliation_run", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reconciliation_run_store_day", ["store_id", "business_date"], unique=False
        )

    op.create_table(
        "reconciliation_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("external_number", sa.String(length=64), nullable=True),
        sa.Column("state_id", sa.String(length=64), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("ours", sa.JSON(), nullable=False),
        sa.Column("theirs", sa.JSON(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("resolved_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolution_note", sa.String(length=300), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('missing_at_state', 'missing_here', 'differs')",
            name=op.f("ck_reconciliation_item_difference_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["compliance_report.id"],
            name=op.f("fk_reconciliation_item_report_id_compliance_report"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["user_account.id"],
            name=op.f("fk_reconciliation_item_resolved_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconciliation_run.id"],
            name=op.f("fk_reconciliation_item_run_id_reconciliation_run"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["store.id"],
            name=op.f("fk_reconciliation_item_store_id_store"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_item")),
        sa.UniqueConstraint("run_id", "key", name=op.f("uq_reconciliation_item_run_id_key")),
    )
    with op.batch_alter_table("reconciliation_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reconciliation_item_run_id"), ["run_id"], unique=False)


def downgrade():
    with op.batch_alter_table("reconciliation_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconciliation_item_run_id"))
    op.drop_table("reconciliation_item")
    with op.batch_alter_table("reconciliation_run", schema=None) as batch_op:
        batch_op.drop_index("ix_reconciliation_run_store_day")
    op.drop_table("reconciliation_run")
    op.drop_table("compliance_license")
    with op.batch_alter_table("compliance_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compliance_attempt_report_id"))
    op.drop_table("compliance_attempt")
    with op.batch_alter_table("compliance_report", schema=None) as batch_op:
        batch_op.drop_index("ix_compliance_report_store_queue")
        batch_op.drop_column("progress")
        batch_op.drop_column("last_http_status")
        batch_op.drop_column("last_attempt_at")
        batch_op.drop_column("deadline_at")
        batch_op.drop_column("in_doubt")
        batch_op.drop_column("request_id")
