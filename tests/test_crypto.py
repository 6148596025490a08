"""Medical card and ID numbers are encrypted at rest and found through a keyed hash."""

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import text

from extensions import db
from models.infra.crypto import FieldCipher, FieldKeyError
from models.people.customers import find_by_id_number, find_by_medical_card


def test_medical_card_and_id_numbers_are_not_stored_in_clear(make_customer):
    customer = make_customer(kind="medical", medical_card_number="CO-MMJ-778899")
    customer.medical_card_expires = customer.date_of_birth.replace(year=2099)
    customer.id_number = "D12345678"
    db.session.commit()
    row = db.session.execute(
        text(
            "SELECT medical_card_enc, medical_card_hash, id_number_enc FROM customer WHERE id = :id"
        ),
        {"id": customer.id},
    ).one()
    assert b"778899" not in bytes(row.medical_card_enc)
    assert "778899" not in row.medical_card_hash
    assert b"D12345678" not in bytes(row.id_number_enc)
    db.session.expire_all()
    assert db.session.get(type(customer), customer.id).medical_card_number == "CO-MMJ-778899"


def test_lookup_by_card_or_id_number_ignores_spacing_and_case(make_customer):
    customer = make_customer(kind="medical", medical_card_number="CO-MMJ-778899")
    customer.id_number = "D12345678"
    db.session.commit()
    assert find_by_medical_card("co mmj 778899") == customer
    assert find_by_medical_card("CO-MMJ-778890") is None
    assert find_by_id_number("d1234-5678") == [customer]


def test_another_key_cannot_read_the_values(app):
    ours = app.extensions["pistil.cipher"]
    blob = ours.encrypt("NM-MCP-1", b"customer.medical_card_number")
    theirs = FieldCipher("b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktMzI=")
    with pytest.raises(InvalidTag):
        theirs.decrypt(blob, b"customer.medical_card_number")
    # A value moved to another column does not decrypt there either.
    with pytest.raises(InvalidTag):
        ours.decrypt(blob, b"customer.id_number")


def test_a_bad_key_is_refused_with_a_clear_message():
    with pytest.raises(FieldKeyError, match="32 bytes"):
        FieldCipher("c2hvcnQ=")
