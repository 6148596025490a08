"""The database itself carries the invariants, on SQLite and PostgreSQL alike."""

import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from extensions import db
from models.catalog.products import Product
from models.infra.audit import AuditEvent, record
from models.sales.orders import Order
from models.stock.management import ledger_total, receive
from models.stock.packages import Package, StockMovement
from support import ON_POSTGRES, migrate_to_head, psycopg_url, store_today

ROOT = Path(__file__).resolve().parent.parent


def make_product(store, **overrides):
    fields = dict(
        store_id=store.id, sku=f"SKU-{uuid.uuid4().hex[:6]}", name="Blue Dream 3.5g",
        brand="Test Farms", category="flower", limit_category="flower", strain_type="sativa",
        net_weight_mg=3500, thc_pct_bp=2000, price_cents=3500,
    )  # fmt: skip
    fields.update(overrides)
    product = Product(**fields)
    db.session.add(product)
    db.session.commit()
    return product


def _head_revisions() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return set(ScriptDirectory.from_config(config).get_heads())


def test_migrations_upgrade_an_empty_database(tmp_path):
    if ON_POSTGRES:
        from support import DATABASE_URL

        name = f"pistil_migrate_{uuid.uuid4().hex[:8]}"
        admin = create_engine(psycopg_url(DATABASE_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        url = psycopg_url(DATABASE_URL).rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    try:
        migrate_to_head(url)
        engine = create_engine(url)
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            versions = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
        engine.dispose()
        assert versions == _head_revisions()
        assert {
            "store", "user_account", "store_membership", "customer", "product", "package",
            "stock_movement", "reservation", "sale_order", "order_line", "tender",
            "compliance_report", "audit_event", "login_session",
        } <= tables  # fmt: skip
    finally:
        if ON_POSTGRES:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin.dispose()


def test_models_and_migrations_agree(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_negative_package_quantity_is_rejected_by_the_database(store):
    product = make_product(store)
    package = receive(
        product, tag="1A4060300003E9D000000001", quantity=5, unit="each", received_on=store_today()
    )
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(
            text("UPDATE package SET quantity = -1 WHERE id = :id"), {"id": package.id}
        )
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Package, package.id).quantity == 5


def test_duplicate_tag_in_one_store_is_rejected(make_store):
    first, second = make_store(), make_store()
    tag = "1A4060300003E9D000000042"
    receive(make_product(first), tag=tag, quantity=1, unit="each", received_on=store_today())
    db.session.commit()
    # The same tag in another store is a different facility's package and is allowed.
    receive(make_product(second), tag=tag, quantity=1, unit="each", received_on=store_today())
    db.session.commit()
    with pytest.raises(IntegrityError):
        receive(make_product(first), tag=tag, quantity=1, unit="each", received_on=store_today())
        db.session.commit()
    db.session.rollback()


def test_client_token_is_unique(store):
    db.session.add(Order(store_id=store.id, channel="register", client_token="tok-1"))
    db.session.commit()
    db.session.add(Order(store_id=store.id, channel="register", client_token="tok-1"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_receiving_writes_the_ledger(store):
    package = receive(
        make_product(store), tag="T-1", quantity=12, unit="each", received_on=store_today()
    )
    db.session.commit()
    movements = db.session.query(StockMovement).filter_by(package_id=package.id).all()
    assert [(m.kind, m.delta, m.quantity_after) for m in movements] == [("receive", 12, 12)]
    assert ledger_total(package.id) == package.quantity


def test_audit_rows_cannot_be_changed_or_deleted(store):
    event = record("test.event", store_id=store.id, reason="checking")
    db.session.commit()
    for statement in ("UPDATE audit_event SET reason = 'edited'", "DELETE FROM audit_event"):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(statement))
            db.session.commit()
        db.session.rollback()
    assert db.session.get(AuditEvent, event.id).reason == "checking"


def test_timestamps_come_back_aware_utc(store):
    assert store.created_at.tzinfo is not None
    assert store.created_at.utcoffset().total_seconds() == 0


def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(app):
    if ON_POSTGRES:
        pytest.skip("SQLite settings")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000


def test_sqlite_write_requests_begin_immediate(app, tmp_path):
    """A POST holds the write lock from its first statement, so a second writer waits, not fails."""
    if ON_POSTGRES:
        pytest.skip("SQLite settings")
    from app import _sqlite_begin_statement

    with app.test_request_context("/", method="POST"):
        assert _sqlite_begin_statement() == "BEGIN IMMEDIATE"
    with app.test_request_context("/", method="GET"):
        assert _sqlite_begin_statement() == "BEGIN"
    assert _sqlite_begin_statement() == "BEGIN IMMEDIATE"  # jobs and commands write


def test_foreign_keys_are_enforced(store):
    db.session.add(
        Package(
            store_id=store.id, product_id=999999, tag="X", quantity=1, unit="each",
            received_on=store_today(),
        )
    )  # fmt: skip
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
