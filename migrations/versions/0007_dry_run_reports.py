"""Mark reports a dry run only recorded, so no screen says they were reported to the state.

Reviewed by hand: one added column with a server default (SQLite rebuilds the table in batch
mode); reports already sent by the dry run are found by their attempt log ("recorded").

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:00:00

"""

import sqlalchemy as sa
from alembic import op


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("compliance_report", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dry_run", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute(
        "UPDATE compliance_report SET dry_run = TRUE WHERE status = 'sent' AND EXISTS ("
        "SELECT 1 FROM compliance_attempt WHERE compliance_attempt.report_id = compliance_report.id"
        " AND compliance_attempt.outcome = 'recorded')"
    )


def downgrade():
    with op.batch_alter_table("compliance_report", schema=None) as batch_op:
        batch_op.drop_column("dry_run")
