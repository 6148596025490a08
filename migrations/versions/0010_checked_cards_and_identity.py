"""Checked medical cards and who is at the counter: card checks, name key, card last 4, ID hash.

Reviewed by hand: a customer's medical card is a claim until a person checks it, so the customer
row records who checked it, when, at which store, how it was read, what the state said, until
when, and the hash of the card checked (a changed number is unchecked again). Existing cards stay
unchecked: nothing recorded that anyone checked them. A folded name key (accents, case and
punctuation aside; indexed) finds a scanned license's holder by name and birth date; the card's
last four characters (indexed) let a budtender search by them without the number. A sale keeps
the keyed hash of the ID checked for it (indexed) so an anonymous walk-in's sales count toward
their limits. Both keys are filled for existing rows here. The two foreign keys rebuild the
customer table on SQLite (foreign keys are off during migrations, so nothing cascades).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00

"""

import re
import unicodedata

from alembic import op
import sqlalchemy as sa
import models.base


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _fold(text):
    # As models.people.customers.fold_name at the time of writing (a migration must not follow later
    # changes to the model's code).
    plain = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    plain = re.sub(r"['’`´.]", "", plain)
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain).split())


def _fill_keys():
    from models.infra.crypto import cipher, normalize_identifier

    customer = sa.table(
        "customer",
        sa.column("id", sa.Integer),
        sa.column("first_name", sa.String),
        sa.column("last_name", sa.String),
        sa.column("medical_card_enc", sa.LargeBinary),
        sa.column("name_key", sa.String),
        sa.column("medical_card_last4", sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            customer.c.id, customer.c.first_name, customer.c.last_name, customer.c.medical_card_enc
        )
    ).all()
    for row in rows:
        last4 = None
        if row.medical_card_enc is not None:
            number = cipher().decrypt(row.medical_card_enc, b"customer.medical_card_number")
            last4 = normalize_identifier(number)[-4:]
        connection.execute(
            customer.update()
            .where(customer.c.id == row.id)
            .values(
                name_key=f"{_fold(row.first_name)} {_fold(row.last_name)}".strip(),
                medical_card_last4=last4,
            )
        )


def upgrade():
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("medical_card_last4", sa.String(length=4), nullable=True))
        batch_op.add_column(
            sa.Column("card_verified_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("card_verified_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("card_verified_store_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("card_verified_read", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column("card_verified_state_check", sa.String(length=16), nullable=True)
        )
        batch_op.add_column(sa.Column("card_verified_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("card_verified_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("name_key", sa.String(length=170), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_customer_card_verified_by_id_user_account"),
            "user_account",
            ["card_verified_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_customer_card_verified_store_id_store"),
            "store",
            ["card_verified_store_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            batch_op.f("ix_customer_medical_card_last4"), ["medical_card_last4"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_customer_name_key"), ["name_key"], unique=False)

    with op.batch_alter_table("sale_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id_number_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_sale_order_id_number_hash"), ["id_number_hash"], unique=False
        )

    _fill_keys()


def downgrade():
    with op.batch_alter_table("sale_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sale_order_id_number_hash"))
        batch_op.drop_column("id_number_hash")

    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_name_key"))
        batch_op.drop_index(batch_op.f("ix_customer_medical_card_last4"))
        batch_op.drop_constraint(
            batch_op.f("fk_customer_card_verified_store_id_store"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_customer_card_verified_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("name_key")
        batch_op.drop_column("card_verified_hash")
        batch_op.drop_column("card_verified_until")
        batch_op.drop_column("card_verified_state_check")
        batch_op.drop_column("card_verified_read")
        batch_op.drop_column("card_verified_store_id")
        batch_op.drop_column("card_verified_by_id")
        batch_op.drop_column("card_verified_at")
        batch_op.drop_column("medical_card_last4")
