"""The stock module's rules, read directly: sellable, held, first-expiry-first, moved, adjusted."""

from datetime import timedelta

import pytest
from register_support import make_package, make_product, open_sale
from sqlalchemy import select

from extensions import db
from models.base import utcnow
from models.stock.management import (
    OutOfStock,
    adjust,
    hold,
    ledger_total,
    lock_packages,
    lock_sellable,
    move,
    release_expired_holds,
    release_holds,
)
from models.stock.packages import Package, StockMovement
from models.stock.queries import (
    available,
    fefo_key,
    fefo_order,
    held_by_others,
    held_by_package,
    sellable,
    unsellable_reason,
)
from support import store_today


@pytest.fixture
def product(store):
    return make_product(store)


@pytest.fixture
def budtender(make_user, store):
    return make_user(store)


def _sellable_ids(product, today):
    return set(
        db.session.scalars(
            select(Package.id).where(Package.product_id == product.id, sellable(today))
        )
    )


def test_sellable_and_unsellable_reason_agree(store, product):
    today = store_today(store)
    good = make_package(product)
    held = make_package(product, on_hold=True, hold_reason="recall")
    failed = make_package(product, lab_status="failed")
    pending = make_package(product, lab_status="pending")
    expired = make_package(product, expires_on=today - timedelta(days=1))
    last_day = make_package(product, expires_on=today)
    undated = make_package(product, expires_on=None)
    empty = make_package(product, quantity=1)
    move(empty, -1, "sale")
    db.session.commit()

    assert _sellable_ids(product, today) == {good.id, last_day.id, undated.id}
    assert unsellable_reason(good, today) is None
    assert unsellable_reason(last_day, today) is None
    assert "on hold (recall)" in unsellable_reason(held, today)
    assert "failed its lab test" in unsellable_reason(failed, today)
    assert "waiting for its lab test" in unsellable_reason(pending, today)
    assert "expired on" in unsellable_reason(expired, today)
    # The business date decides: tomorrow the last-day package is out of date too.
    assert "expired on" in unsellable_reason(last_day, today + timedelta(days=1))
    assert last_day.id not in _sellable_ids(product, today + timedelta(days=1))


def test_a_product_switched_off_makes_its_packages_unsellable(store, product):
    package = make_package(product)
    product.active = False
    assert "switched off" in unsellable_reason(package, store_today(store))


def test_fefo_orders_by_expiry_then_received_then_id(store, product):
    today = store_today(store)
    undated = make_package(product, expires_on=None, received_on=today - timedelta(days=90))
    later = make_package(product, expires_on=today + timedelta(days=30))
    newer = make_package(
        product, expires_on=today + timedelta(days=10), received_on=today - timedelta(days=1)
    )
    older = make_package(
        product, expires_on=today + timedelta(days=10), received_on=today - timedelta(days=5)
    )
    twin = make_package(
        product, expires_on=today + timedelta(days=10), received_on=today - timedelta(days=5)
    )
    expected = [older.id, twin.id, newer.id, later.id, undated.id]

    in_sql = db.session.scalars(
        select(Package.id).where(Package.product_id == product.id).order_by(*fefo_order())
    ).all()
    in_python = [p.id for p in sorted([undated, twin, later, newer, older], key=fefo_key)]
    assert in_sql == expected
    assert in_python == expected


def test_live_holds_count_and_expired_or_released_do_not(store, product, budtender):
    package = make_package(product, quantity=10)
    mine, other, late, done = (open_sale(store, budtender) for _ in range(4))
    now = utcnow()
    hold(mine.id, package.id, 1, now + timedelta(minutes=30))
    hold(other.id, package.id, 2, now + timedelta(minutes=30))
    hold(late.id, package.id, 3, now - timedelta(seconds=1))
    hold(done.id, package.id, 4, now + timedelta(minutes=30))
    db.session.flush()
    assert release_holds(done.id, now) == 1

    assert held_by_others([package.id], mine.id, now) == {package.id: 2}
    assert held_by_others([package.id], None, now) == {package.id: 3}
    assert held_by_others([], None, now) == {}
    assert available(package, held_by_others([package.id], mine.id, now)) == 8
    held = held_by_package(now)
    assert db.session.execute(select(held.c.package_id, held.c.held)).all() == [(package.id, 3)]
    # Past their expiry, the live holds stop counting.
    assert held_by_others([package.id], None, now + timedelta(hours=1)) == {}


def test_release_expired_holds_marks_only_the_expired(store, product, budtender):
    package = make_package(product, quantity=10)
    order = open_sale(store, budtender)
    now = utcnow()
    live = hold(order.id, package.id, 1, now + timedelta(minutes=5))
    stale = hold(order.id, package.id, 2, now - timedelta(minutes=5))
    db.session.flush()
    assert release_expired_holds(now) == 1
    db.session.refresh(live)
    db.session.refresh(stale)
    assert live.released_at is None and stale.released_at is not None


def test_move_writes_the_ledger_and_refuses_going_below_zero(store, product, budtender):
    package = make_package(product, quantity=5)
    order = open_sale(store, budtender)
    movement = move(package, -3, "sale", order_id=order.id, user_id=budtender.id)
    db.session.flush()
    assert package.quantity == 2
    assert (movement.kind, movement.delta, movement.quantity_after) == ("sale", -3, 2)
    assert movement.order_id == order.id and movement.user_id == budtender.id

    with pytest.raises(OutOfStock):
        move(package, -3, "sale")
    with pytest.raises(ValueError):
        move(package, 0, "count")
    db.session.refresh(package)
    assert package.quantity == 2
    assert ledger_total(package.id) == package.quantity


def test_adjust_records_the_reason_code_and_note(store, product, budtender):
    package = make_package(product, quantity=5)
    movement = adjust(package, -2, " Drying ", note=" lost weight ", user_id=budtender.id)
    db.session.commit()
    stored = db.session.get(StockMovement, movement.id)
    assert (stored.kind, stored.delta, stored.quantity_after) == ("adjustment", -2, 3)
    assert (stored.reason_code, stored.note) == ("Drying", "lost weight")
    assert ledger_total(package.id) == 3 == db.session.get(Package, package.id).quantity
    with pytest.raises(ValueError):
        adjust(package, 1, "  ")
    with pytest.raises(OutOfStock):
        adjust(package, -4, "Theft")


def test_packages_lock_in_id_order(store, product):
    today = store_today(store)
    first, second, third = (make_package(product) for _ in range(3))
    make_package(product, on_hold=True)
    assert [p.id for p in lock_packages([third.id, first.id, second.id])] == [
        first.id,
        second.id,
        third.id,
    ]
    locked = lock_sellable(store.id, [product.id], today)
    assert [p.id for p in locked] == [first.id, second.id, third.id]
