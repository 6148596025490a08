"""Real concurrency: many registers on the last unit, and one sale submitted many times at once.

Each thread has its own app context, so its own database session and connection, as two tablets
(or two gunicorn workers) would. PostgreSQL runs them truly in parallel (row locks decide);
SQLite serializes writers with BEGIN IMMEDIATE, which the smaller variant checks.
"""

import threading
import time
import uuid

import pytest
from register_support import make_package, make_product, open_sale

from extensions import db
from models.compliance.outbox import ComplianceReport
from models.people.users import User
from models.sales.completion import Payment, complete_sale
from models.sales.errors import SaleError, StockConflict
from models.sales.lines import add_by_tag
from models.sales.orders import Order, Tender
from models.stock.management import ledger_total
from models.stock.packages import Package, StockMovement
from support import ON_POSTGRES


@pytest.fixture
def app_config(app_config):
    """Give every thread its own pooled connection."""
    app_config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "pool_pre_ping": True,
        "pool_size": 60,
        "max_overflow": 10,
        "pool_timeout": 60,
    }
    return app_config


def run_at_once(app, jobs):
    """Run (order_id, token, user_id) completions in threads released together; return outcomes."""
    # The test's own session must hold no transaction (on SQLite it would hold the write lock).
    db.session.rollback()
    barrier = threading.Barrier(len(jobs))
    outcomes: list[tuple[str, object]] = []
    lock = threading.Lock()

    def work(order_id, token, user_id):
        with app.app_context():
            try:
                order = db.session.get(Order, order_id)
                user = db.session.get(User, user_id)
                total = order.total_cents
                db.session.rollback()  # start the race from a clean transaction
                barrier.wait(timeout=60)
                done = complete_sale(order, [Payment("debit", total)], token, user)
                db.session.commit()
                outcome = ("sold", done.id)
            except StockConflict as error:
                db.session.rollback()
                outcome = ("out_of_stock", error.message)
            except SaleError as error:
                db.session.rollback()
                outcome = ("refused", error.message)
            except Exception as error:  # noqa: BLE001 - a crash must fail the test, not the thread
                db.session.rollback()
                outcome = ("crash", repr(error))
            finally:
                db.session.remove()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == len(jobs), "a thread hung"
    return outcomes


def last_unit_race(app, store, make_user, attempts):
    user = make_user(store)
    package = make_package(make_product(store, name="Last Jar"), 1)
    orders = []
    for _ in range(attempts):
        order = open_sale(store, user)
        add_by_tag(order, package.tag)
        db.session.commit()
        orders.append(order.id)
    outcomes = run_at_once(app, [(oid, uuid.uuid4().hex, user.id) for oid in orders])
    kinds = [kind for kind, _ in outcomes]
    assert kinds.count("crash") == 0, [o for o in outcomes if o[0] == "crash"][:3]
    assert kinds.count("sold") == 1
    assert kinds.count("out_of_stock") == attempts - 1
    assert all("Out of stock" in message for kind, message in outcomes if kind != "sold")
    db.session.expire_all()
    assert db.session.get(Package, package.id).quantity == 0
    assert ledger_total(package.id) == 0
    assert db.session.query(Order).filter_by(status="completed").count() == 1
    assert db.session.query(StockMovement).filter_by(kind="sale").count() == 1
    assert db.session.query(ComplianceReport).filter_by(kind="sale").count() == 1


def double_submit(app, store, make_user, attempts):
    user = make_user(store)
    package = make_package(make_product(store), 5)
    order = open_sale(store, user)
    add_by_tag(order, package.tag, 2)
    db.session.commit()
    token = uuid.uuid4().hex
    outcomes = run_at_once(app, [(order.id, token, user.id)] * attempts)
    assert outcomes == [("sold", order.id)] * attempts
    db.session.expire_all()
    assert db.session.get(Package, package.id).quantity == 3
    assert db.session.query(Tender).count() == 1
    assert db.session.query(StockMovement).filter_by(kind="sale").count() == 1
    assert db.session.query(ComplianceReport).filter_by(kind="sale").count() == 1


def test_fifty_registers_race_for_the_last_unit_on_postgres(app, store, make_user, postgres_only):
    last_unit_race(app, store, make_user, 50)


def test_one_sale_submitted_fifty_times_at_once_on_postgres(app, store, make_user, postgres_only):
    double_submit(app, store, make_user, 50)


def test_the_same_sale_from_two_tablets_with_different_tokens_sells_once(
    app, store, make_user, postgres_only
):
    user = make_user(store)
    package = make_package(make_product(store), 5)
    order = open_sale(store, user)
    add_by_tag(order, package.tag, 1)
    db.session.commit()
    outcomes = run_at_once(app, [(order.id, uuid.uuid4().hex, user.id) for _ in range(10)])
    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["refused"] * 9 + ["sold"]
    assert db.session.get(Package, package.id).quantity == 4


@pytest.mark.skipif(ON_POSTGRES, reason="the PostgreSQL variants above run 50 threads")
def test_sqlite_serializes_registers_racing_for_the_last_unit(app, store, make_user):
    last_unit_race(app, store, make_user, 12)


@pytest.mark.skipif(ON_POSTGRES, reason="the PostgreSQL variants above run 50 threads")
def test_sqlite_serializes_a_sale_submitted_many_times(app, store, make_user):
    double_submit(app, store, make_user, 12)


def test_completion_locks_packages_in_id_order_and_decrements_conditionally(
    app, store, make_user, postgres_only
):
    from sqlalchemy import event

    user = make_user(store)
    later = make_package(make_product(store), 5)
    earlier = make_package(make_product(store), 5)
    order = open_sale(store, user)
    add_by_tag(order, later.tag)
    add_by_tag(order, earlier.tag)
    db.session.commit()
    statements: list[str] = []

    def remember(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        complete_sale(order, [Payment("debit", order.total_cents)], uuid.uuid4().hex, user)
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    lock = next(
        s for s in statements if s.startswith("SELECT package.id") and "FOR NO KEY UPDATE" in s
    )
    assert "ORDER BY package.id" in lock
    updates = [s for s in statements if s.startswith("UPDATE package SET quantity")]
    assert len(updates) == 2 and all("package.quantity >=" in s for s in updates)


def test_a_drawer_closed_on_another_tablet_refuses_cash(app, store, make_user):
    from models.sales.cash_drawer import CashDrawer, count_drawer, open_drawer

    user = make_user(store)
    package = make_package(make_product(store), 5)
    drawer = open_drawer(store, "Front", 10_000, user)
    order = open_sale(store, user)
    add_by_tag(order, package.tag)
    db.session.commit()
    seen_open = db.session.get(CashDrawer, drawer.id)
    total, user_id, drawer_id, order_id = order.total_cents, user.id, drawer.id, order.id
    db.session.expunge(seen_open)  # this tablet still believes the drawer is open
    db.session.rollback()
    with app.app_context():  # another tablet closes it meanwhile
        closer = db.session.get(User, user_id)
        count_drawer(db.session.get(CashDrawer, drawer_id), {10000: 1}, closer)
        db.session.commit()
        db.session.remove()
    cash = [Payment("cash", total, tendered_cents=total)]
    seller = db.session.get(User, user_id)
    with pytest.raises(SaleError, match="was just closed"):
        complete_sale(
            db.session.get(Order, order_id), cash, uuid.uuid4().hex, seller, drawer=seen_open
        )
    db.session.rollback()
    assert db.session.query(Tender).count() == 0


def test_closing_a_drawer_counts_every_cash_sale_that_got_in_on_postgres(
    app, store, make_user, postgres_only
):
    from models.sales.cash_drawer import CashDrawer, count_drawer, open_drawer

    user = make_user(store)
    package = make_package(make_product(store), 100)
    drawer_id = open_drawer(store, "Front", 10_000, user).id
    orders = []
    for _ in range(12):
        order = open_sale(store, user)
        add_by_tag(order, package.tag)
        orders.append(order.id)
    db.session.commit()
    user_id = user.id
    db.session.rollback()
    barrier = threading.Barrier(len(orders) + 1)
    outcomes, lock = [], threading.Lock()

    def sell(order_id):
        with app.app_context():
            try:
                order = db.session.get(Order, order_id)
                drawer = db.session.get(CashDrawer, drawer_id)
                seller = db.session.get(User, user_id)
                cash = [Payment("cash", order.total_cents, tendered_cents=order.total_cents)]
                barrier.wait(timeout=60)
                complete_sale(order, cash, uuid.uuid4().hex, seller, drawer=drawer)
                db.session.commit()
                outcome = "sold"
            except SaleError as error:
                db.session.rollback()
                outcome = error.message
            except Exception as error:  # noqa: BLE001 - a crash must fail the test, not hang it
                db.session.rollback()
                outcome = repr(error)
            finally:
                db.session.remove()
        with lock:
            outcomes.append(outcome)

    def close():
        with app.app_context():
            drawer = db.session.get(CashDrawer, drawer_id)
            closer = db.session.get(User, user_id)
            barrier.wait(timeout=60)
            count_drawer(drawer, {10000: 1}, closer)
            db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=sell, args=(oid,)) for oid in orders]
    threads.append(threading.Thread(target=close))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == len(orders), "a thread hung"
    refusals = {
        "This cash drawer was just closed; open a drawer to take cash.",
        "Open a cash drawer on this register before taking cash.",
    }
    assert set(outcomes) <= {"sold", *refusals}
    db.session.expire_all()
    drawer = db.session.get(CashDrawer, drawer_id)
    cash_taken = sum(
        t.amount_cents for t in db.session.query(Tender).filter_by(drawer_id=drawer_id, kind="cash")
    )
    # Whatever the timing, the close's expected cash holds every cash sale recorded on it.
    assert drawer.expected_cents == 10_000 + cash_taken
    assert cash_taken == sum(
        db.session.get(Order, oid).total_cents
        for oid in orders
        if db.session.get(Order, oid).status == "completed"
    )


def cash_sales_on_a_drawer(store, user, how_many):
    """Open a drawer with $100 and sell one unit for cash on it, how_many times."""
    from models.sales.cash_drawer import open_drawer

    package = make_package(make_product(store), 100)
    drawer = open_drawer(store, "Front", 10_000, user)
    db.session.commit()
    orders = []
    for _ in range(how_many):
        order = open_sale(store, user)
        add_by_tag(order, package.tag)
        total = order.total_cents
        cash = [Payment("cash", total, tendered_cents=total)]
        complete_sale(order, cash, uuid.uuid4().hex, user, drawer=drawer)
        db.session.commit()
        orders.append(order.id)
    return package.id, drawer.id, orders


def give_back_one(order_id, drawer_id, user_id):
    """Return one unit of a sale's first line for cash from the drawer (caller commits)."""
    from models.sales.cash_drawer import CashDrawer
    from models.sales.returning import ReturnItem, return_items

    order = db.session.get(Order, order_id)
    till = db.session.get(CashDrawer, drawer_id)
    clerk = db.session.get(User, user_id)
    item = ReturnItem(order.lines[0], 1, "restock")
    return return_items(order, [item], "Race", clerk, refund_kind="cash", drawer=till)


def count_at_100(drawer_id, user_id):
    """Count the drawer at $100 (caller commits)."""
    from models.sales.cash_drawer import CashDrawer, count_drawer

    till = db.session.get(CashDrawer, drawer_id)
    return count_drawer(till, {10000: 1}, db.session.get(User, user_id))


def refunds_race_a_count(app, store, make_user, returns):
    """Hand back cash on many sales while the drawer is counted; nothing slips past the count."""
    from models.sales.cash_drawer import CashDrawer, DrawerEntry
    from models.sales.returns import SaleReturn

    user = make_user(store)
    package_id, drawer_id, orders = cash_sales_on_a_drawer(store, user, returns)
    user_id = user.id
    db.session.rollback()
    barrier = threading.Barrier(returns)
    first_refund = threading.Event()
    outcomes, lock = [], threading.Lock()

    def give_back(order_id):
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                give_back_one(order_id, drawer_id, user_id)
                db.session.commit()
                first_refund.set()
                outcome = "refunded"
            except SaleError as error:
                db.session.rollback()
                outcome = error.message
            except Exception as error:  # noqa: BLE001 - a crash must fail the test, not hang it
                db.session.rollback()
                outcome = repr(error)
            finally:
                db.session.remove()
        with lock:
            outcomes.append(outcome)

    def count():
        # Count once refunds are landing, so the count meets others still in flight.
        first_refund.wait(timeout=60)
        with app.app_context():
            count_at_100(drawer_id, user_id)
            db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=give_back, args=(oid,)) for oid in orders]
    threads.append(threading.Thread(target=count))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == returns, "a thread hung"
    assert set(outcomes) <= {"refunded", "Front is closed. Open a drawer first."}, outcomes
    assert "refunded" in outcomes
    db.session.expire_all()
    till = db.session.get(CashDrawer, drawer_id)
    refunds = db.session.query(DrawerEntry).filter_by(drawer_id=drawer_id, kind="refund").all()
    cash_in = sum(t.amount_cents for t in db.session.query(Tender).filter_by(drawer_id=drawer_id))
    # Every refund the drawer paid out is in the count's expected cash, and only those.
    assert till.counted_at is not None
    assert till.expected_cents == 10_000 + cash_in - sum(e.amount_cents for e in refunds)
    assert len(refunds) == outcomes.count("refunded") == db.session.query(SaleReturn).count()
    # A refused return left nothing behind: no stock back, no line marked returned.
    back_on_shelf = 100 - returns + len(refunds)
    assert db.session.get(Package, package_id).quantity == back_on_shelf
    assert ledger_total(package_id) == back_on_shelf
    returned = sum(db.session.get(Order, oid).lines[0].returned_quantity for oid in orders)
    assert returned == len(refunds)


def test_a_drawer_counted_while_refunds_are_in_flight_on_postgres(
    app, store, make_user, postgres_only
):
    refunds_race_a_count(app, store, make_user, 20)


@pytest.mark.skipif(ON_POSTGRES, reason="the PostgreSQL variant above runs more threads")
def test_sqlite_serializes_refunds_and_the_drawer_count(app, store, make_user):
    refunds_race_a_count(app, store, make_user, 6)


def test_a_count_waits_for_the_refund_in_flight_and_includes_it(app, store, make_user):
    from models.sales.cash_drawer import CashDrawer

    user = make_user(store)
    _, drawer_id, [order_id] = cash_sales_on_a_drawer(store, user, 1)
    user_id = user.id
    db.session.rollback()
    in_flight, counting = threading.Event(), threading.Event()
    errors = []

    def refund():
        with app.app_context():
            try:
                give_back_one(order_id, drawer_id, user_id)
                db.session.flush()
                in_flight.set()  # the cash is out of the drawer, not committed yet
                counting.wait(timeout=60)
                time.sleep(0.3)  # the count is now waiting for this transaction
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - a crash must fail the test, not hang it
                errors.append(repr(error))
                db.session.rollback()
                in_flight.set()
            finally:
                db.session.remove()

    def count():
        in_flight.wait(timeout=60)
        with app.app_context():
            counting.set()
            count_at_100(drawer_id, user_id)
            db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=refund), threading.Thread(target=count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    # The count saw the refund that was in flight when it started: $100 + the sale − the refund.
    assert db.session.get(CashDrawer, drawer_id).expected_cents == 10_000
    assert order.lines[0].returned_quantity == 1
