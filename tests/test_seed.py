"""The demo chain: realistic, correctly tagged, and idempotent."""

import re

from sqlalchemy import func, select

from extensions import db
from models.catalog.products import Product
from models.people.customers import Customer
from models.people.users import StoreMembership, User
from models.stock.packages import Package, StockMovement
from models.stores.store import Store

TABLES = (Store, User, StoreMembership, Product, Package, StockMovement, Customer)


def _counts():
    return {t.__tablename__: db.session.scalar(select(func.count()).select_from(t)) for t in TABLES}


def test_seed_demo_twice_leaves_the_same_counts(runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    once = _counts()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert _counts() == once
    assert once["store"] == 2
    assert 75 <= once["product"] <= 90
    assert "maria@nm.pistil.demo" in first.output and "PIN" in first.output


def test_if_empty_skips_a_database_with_data(runner):
    runner.invoke(args=["seed-demo"])
    before = _counts()
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "not loaded again" in result.output
    assert _counts() == before


def test_demo_data_is_realistic(runner):
    runner.invoke(args=["seed-demo"])
    stores = {s.state: s for s in db.session.scalars(select(Store))}
    assert stores["NM"].tracktrace_system == "biotrack" and stores["NM"].sells_medical
    assert stores["CO"].tracktrace_system == "metrc"
    for package in db.session.scalars(select(Package)):
        if package.store_id == stores["CO"].id:
            assert re.fullmatch(r"1A4[0-9A-F]{21}", package.tag), package.tag
        else:
            assert re.fullmatch(r"\d{16}", package.tag), package.tag
    categories = set(db.session.scalars(select(Product.category).distinct()))
    assert {"flower", "preroll", "vape", "concentrate", "edible", "tincture", "topical",
            "accessory"} <= categories  # fmt: skip
    for product in db.session.scalars(select(Product).where(Product.limit_category.is_not(None))):
        assert product.thc_mg is not None or product.thc_pct_bp is not None, product.sku
    kinds = {c.kind for c in db.session.scalars(select(Customer))}
    assert kinds == {"adult_use", "medical", "caregiver"}
    residents = {c.resident_state for c in db.session.scalars(select(Customer))}
    assert residents - {"NM", "CO"}, "an out-of-state visitor"
    caregiver = db.session.scalar(select(Customer).where(Customer.kind == "caregiver"))
    assert caregiver.caregiver_for.kind == "medical"
    for store in stores.values():
        roles = sorted(m.role for m in store_members(store))
        assert roles.count("manager") == 1 and roles.count("budtender") == 2


def store_members(store):
    return db.session.scalars(select(StoreMembership).where(StoreMembership.store_id == store.id))


def test_demo_logins_work(runner, client):
    runner.invoke(args=["seed-demo"])
    response = client.post(
        "/staff/login", data={"email": "maria@nm.pistil.demo", "password": "pistil-demo-2026"}
    )
    assert response.headers["Location"] == "/manage/"
    page = client.get("/manage/").get_data(as_text=True)
    assert "Pistil Nob Hill" in page and "BioTrack (dry run)" in page


def test_demo_patients_are_seeded_as_checked_by_the_stores_manager(runner):
    from models.infra.audit import AuditEvent

    runner.invoke(args=["seed-demo"])
    maria = db.session.scalar(select(User).where(User.email == "maria@nm.pistil.demo"))
    nm = db.session.scalar(select(Store).where(Store.state == "NM"))
    patients = list(db.session.scalars(select(Customer).where(Customer.kind != "adult_use")))
    assert len(patients) == 3
    for patient in patients:
        assert patient.has_verified_medical_card(nm)
        assert patient.card_verified_by_id == maria.id and patient.card_verified_read == "seed"
    events = list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "customer.card_verified")))  # fmt: skip
    assert len(events) == 3
    assert all("Maria Chavez" in e.reason and "demo" in e.reason for e in events)
    runner.invoke(args=["seed-demo"])
    assert db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "customer.card_verified")) == 3  # fmt: skip
