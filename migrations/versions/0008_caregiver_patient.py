"""Caregiver sales name their patient: the order keeps the patient it was bought for.

Reviewed by hand: one added nullable column with its foreign key and an index. On SQLite the key
is declared inline in ADD COLUMN, so the table is never rebuilt (a rebuild would cascade-delete
the order lines). Completed medical sales
to caregivers are given the patient their caregiver is linked to now, the best record there is.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 20:00:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    name = op.f("fk_sale_order_patient_id_customer")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's ADD COLUMN takes the key inline; batch mode would rebuild sale_order, and
        # dropping the old table would cascade-delete every order line.
        op.execute(
            f"ALTER TABLE sale_order ADD COLUMN patient_id INTEGER "
            f"CONSTRAINT {name} REFERENCES customer (id)"
        )
    else:
        op.add_column("sale_order", sa.Column("patient_id", sa.Integer(), nullable=True))
        op.create_foreign_key(name, "sale_order", "customer", ["patient_id"], ["id"])
    with op.batch_alter_table("sale_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sale_order_patient_id"), ["patient_id"], unique=False)
    op.execute(
        "UPDATE sale_order SET patient_id = ("
        "SELECT customer.caregiver_for_id FROM customer "
        "WHERE customer.id = sale_order.customer_id AND customer.kind = 'caregiver') "
        "WHERE sale_order.customer_class = 'medical' AND sale_order.customer_id IN ("
        "SELECT id FROM customer WHERE kind = 'caregiver')"
    )


def downgrade():
    with op.batch_alter_table("sale_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sale_order_patient_id"))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite 3.35+ drops the column in place, without rebuilding the table.
        op.execute("ALTER TABLE sale_order DROP COLUMN patient_id")
    else:
        op.drop_constraint(
            op.f("fk_sale_order_patient_id_customer"), "sale_order", type_="foreignkey"
        )
        op.drop_column("sale_order", "patient_id")
