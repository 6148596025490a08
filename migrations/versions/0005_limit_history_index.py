"""Index the caregiver link: every limit check reads the patient's caregivers' sales too.

Reviewed by hand: one added index, so SQLite never rebuilds a table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 21:00:00

"""

from alembic import op


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_caregiver_for_id"), ["caregiver_for_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_caregiver_for_id"))
