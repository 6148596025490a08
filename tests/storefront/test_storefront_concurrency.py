"""The last unit under fire: concurrent online checkouts and register sales, one winner."""

import threading
import uuid

import pytest
from sqlalchemy import func, select
from storefront_support import add, enter, first_slot, open_all_day, sign_in, stock

from extensions import db
from models.people.users import User
from models.sales.checkin import open_sale
from models.sales.completion import Payment, complete_sale
from models.sales.errors import SaleError
from models.sales.lines import add_package
from models.sales.orders import Order
from models.stock.management import ledger_total
from models.stock.packages import Package, Reservation, StockMovement
from support import ON_POSTGRES

RACERS = 50


@pytest.fixture
def app_config(app_config):
    """Give every racer its own connection so they really run at once."""
    if ON_POSTGRES:
        app_config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": RACERS + 5, "max_overflow": 5}
    return app_config


def _shoppers(app, store, product, make_customer, count):
    """Return signed-in clients, each with the last unit in their cart."""
    clients = []
    for n in range(count):
        customer = make_customer(email=f"racer{n}@example.com")
        client = app.test_client()
        enter(client)
        sign_in(client, customer)
        assert add(client, store, product, 1).status_code == 303
        clients.append(client)
    return clients


def _register_sales(store, package, make_user, count):
    """Return (order id, budtender id) of open register sales, each with the last unit on it."""
    budtender = make_user(store)
    sales = []
    for _ in range(count):
        order = open_sale(store, None, "adult_use", budtender)
        add_package(order, package, 1)
        db.session.commit()
        sales.append((order.id, budtender.id))
    return sales


def _race(app, store, clients, sales):
    slot = first_slot(store)
    barrier = threading.Barrier(len(clients) + len(sales))
    results: list[tuple[str, int, str]] = []
    lock = threading.Lock()

    def online(client):
        barrier.wait()
        with app.app_context():
            response = client.post(
                f"/stores/{code}/checkout",
                data={"slot": slot, "idempotency_key": uuid.uuid4().hex},
            )
        with lock:
            results.append(("web", response.status_code, response.get_data(as_text=True)))

    def register(order_id, user_id):
        barrier.wait()
        with app.app_context():
            order = db.session.get(Order, order_id)
            user = db.session.get(User, user_id)
            try:
                complete_sale(order, [Payment("debit", order.total_cents)], uuid.uuid4().hex, user)
                db.session.commit()
                outcome = ("register", 200, "")
            except SaleError as error:
                db.session.rollback()
                outcome = ("register", error.status, error.message)
        with lock:
            results.append(outcome)

    code = store.code
    db.session.rollback()  # the test's session holds no lock while the racers run
    threads = [threading.Thread(target=online, args=(c,)) for c in clients]
    threads += [threading.Thread(target=register, args=s) for s in sales]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(not t.is_alive() for t in threads)
    return results


def _winners(results):
    return [r for r in results if r[1] in (200, 303)]


def test_fifty_checkouts_online_and_at_the_register_for_the_last_unit(
    app, store, make_customer, make_user
):
    open_all_day(store, pickup_slot_capacity=RACERS)
    product = stock(store, "Last Jar", quantity=1)
    package = product.packages[0]
    clients = _shoppers(app, store, product, make_customer, RACERS // 2)
    sales = _register_sales(store, package, make_user, RACERS - RACERS // 2)
    results = _race(app, store, clients, sales)

    assert len(results) == RACERS
    winners = _winners(results)
    assert len(winners) == 1, winners
    losers = [r for r in results if r not in winners]
    assert all(status == 409 for _, status, _ in losers), {r[1] for r in losers}
    for channel, _, body in losers:
        if channel == "web":
            assert "Last Jar sold out while you were shopping." in body
        else:
            assert "Out of stock" in body and package.tag in body
    package = db.session.get(Package, package.id)
    held = db.session.scalar(
        select(func.coalesce(func.sum(Reservation.quantity), 0)).where(
            Reservation.package_id == package.id, Reservation.released_at.is_(None)
        )
    )
    assert package.quantity >= 0 and package.quantity - held >= 0
    assert package.quantity + (0 if winners[0][0] == "web" else 1) == 1
    assert held == (1 if winners[0][0] == "web" else 0)
    assert ledger_total(package.id) == package.quantity
    web_orders = db.session.scalar(
        select(func.count()).select_from(Order).where(Order.channel == "web")
    )
    assert web_orders == (1 if winners[0][0] == "web" else 0)


def test_fifty_online_checkouts_for_the_last_unit(app, store, make_customer):
    open_all_day(store, pickup_slot_capacity=RACERS)
    product = stock(store, "Only One", quantity=1)
    clients = _shoppers(app, store, product, make_customer, RACERS)
    results = _race(app, store, clients, [])
    winners = _winners(results)
    assert len(winners) == 1
    assert sorted(status for _, status, _ in results) == [303] + [409] * (RACERS - 1)
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    assert db.session.scalar(select(func.sum(Reservation.quantity))) == 1
    assert db.session.scalar(select(func.count()).select_from(StockMovement)) == 1  # receive


def test_the_same_checkout_sent_ten_times_at_once_places_one_order(app, store, make_customer):
    open_all_day(store)
    product = stock(store, "Double Click", quantity=5)
    (client,) = _shoppers(app, store, product, make_customer, 1)
    code, slot, key = store.code, first_slot(store), uuid.uuid4().hex
    db.session.rollback()
    barrier = threading.Barrier(10)
    answers: list[tuple[int, str]] = []

    def submit():
        barrier.wait()
        with app.app_context():
            response = client.post(
                f"/stores/{code}/checkout", data={"slot": slot, "idempotency_key": key}
            )
            answers.append((response.status_code, response.headers.get("Location", "")))

    threads = [threading.Thread(target=submit) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 10
    assert {status for status, _ in answers} == {303}
    assert len({location for _, location in answers}) == 1
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    assert db.session.scalar(select(func.sum(Reservation.quantity))) == 1


def test_a_slots_last_place_is_given_once(app, store, make_customer):
    open_all_day(store, pickup_slot_capacity=1)
    product = stock(store, "Plenty", quantity=100)
    clients = _shoppers(app, store, product, make_customer, 10)
    results = _race(app, store, clients, [])
    assert sorted(status for _, status, _ in results) == [303] + [409] * 9
    assert all("just filled up" in body for _, status, body in results if status == 409)
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
