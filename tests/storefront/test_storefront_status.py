"""Point 4 (holds expire) and point 5: the status page polls until the order is done; cancelling."""

from datetime import timedelta

from sqlalchemy import select
from storefront_support import add, checkout, enter, open_all_day, order_id_from, sign_in, stock

from extensions import db
from jobs.holds import release_expired_holds
from models.base import utcnow
from models.online.checkout import display_status, release_expired
from models.online.menu import availability
from models.sales.orders import Order
from models.stock.packages import Reservation


def place(client, store, customer, product, quantity=1) -> Order:
    open_all_day(store)
    enter(client)
    sign_in(client, customer)
    add(client, store, product, quantity)
    return db.session.get(Order, order_id_from(checkout(client, store)))


def test_expired_holds_are_released_and_the_stock_sells_again(client, store, make_customer):
    product = stock(store, "Forgotten", quantity=1)
    order = place(client, store, make_customer(email="late@example.com"), product)
    assert availability(product) == 0
    later = order.hold_expires_at + timedelta(seconds=1)
    # Before any job runs, the lapsed hold already stops counting, and the page says expired.
    assert availability(product, now=later) == 1
    assert display_status(order, later) == "expired"
    assert release_expired(now=later) == 1
    db.session.commit()
    db.session.refresh(order)
    assert order.status == "expired" and order.expired_at == later
    assert all(h.released_at == later for h in db.session.scalars(select(Reservation)))
    # Sellable again: another customer can take it.
    other = make_customer(email="next@example.com")
    second = db.session.get(Order, order_id_from_new_client(client, store, other, product))
    assert second.status == "placed"


def order_id_from_new_client(client, store, customer, product):
    client.post("/logout")
    enter(client)
    sign_in(client, customer)
    # The first order's hold is released by the job above, so this one fits.
    add(client, store, product, 1)
    return order_id_from(checkout(client, store))


def test_the_job_and_the_cli_release_holds(app, runner, client, store, make_customer):
    product = stock(store, "Job Test", quantity=2)
    order = place(client, store, make_customer(email="job@example.com"), product)
    order.hold_expires_at = utcnow() - timedelta(minutes=1)
    for hold in db.session.scalars(select(Reservation)):
        hold.expires_at = order.hold_expires_at
    db.session.commit()
    assert release_expired_holds() == 1
    db.session.refresh(order)
    assert order.status == "expired"
    db.session.rollback()  # SQLite: leave the write lock to the command's own session
    result = runner.invoke(args=["holds", "release"])
    assert result.exit_code == 0 and "Expired 0 online order(s)" in result.output


def test_unexpired_orders_are_left_alone(client, store, make_customer):
    product = stock(store, "Still Waiting", quantity=2)
    order = place(client, store, make_customer(email="wait@example.com"), product)
    assert release_expired() == 0
    db.session.refresh(order)
    assert order.status == "placed"
    assert availability(product) == 1


def test_status_page_polls_until_a_terminal_state(client, htmx_client, store, make_customer):
    customer = make_customer(email="poll@example.com")
    order = place(client, store, customer, stock(store, "Polled"))
    url = f"/account/orders/{order.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'hx-trigger="every 5s"' in page and "Placed" in page and "Cancel order" in page
    sign_in(htmx_client, customer)
    fragment = htmx_client.get(url).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="order-status"') and "<html" not in fragment
    for status, label in (("accepted", "Accepted"), ("ready", "Ready for pickup")):
        order.status = status
        db.session.commit()
        fragment = htmx_client.get(url).get_data(as_text=True)
        assert 'aria-current="step"' in fragment and label in fragment
        assert 'hx-trigger="every 5s"' in fragment
    assert "Cancel order" not in fragment
    order.status = "completed"
    order.completed_at = utcnow()
    db.session.commit()
    fragment = htmx_client.get(url).get_data(as_text=True)
    assert "Picked up" in fragment and "hx-trigger" not in fragment


def test_one_customer_never_sees_another_customers_order(app, client, store, make_customer):
    order = place(client, store, make_customer(email="owner@example.com"), stock(store, "Mine"))
    stranger = app.test_client()
    assert stranger.get(f"/account/orders/{order.id}").status_code == 302  # sign in first
    sign_in(stranger, make_customer(email="stranger@example.com"))
    assert stranger.get(f"/account/orders/{order.id}").status_code == 404
    assert stranger.post(f"/account/orders/{order.id}/cancel").status_code == 404
    assert stranger.get("/account/orders/999999").status_code == 404
    db.session.refresh(order)
    assert order.status == "placed"


def test_cancel_before_packing_releases_the_hold(client, store, make_customer):
    product = stock(store, "Changed My Mind", quantity=1)
    order = place(client, store, make_customer(email="cancel@example.com"), product)
    response = client.post(f"/account/orders/{order.id}/cancel")
    assert response.status_code == 303
    db.session.refresh(order)
    assert order.status == "cancelled" and order.cancelled_at is not None
    assert availability(product) == 1
    page = client.get(f"/account/orders/{order.id}").get_data(as_text=True)
    assert "This order was cancelled" in page and "hx-trigger" not in page


def test_a_packed_order_cannot_be_cancelled_online(client, htmx_client, store, make_customer):
    customer = make_customer(email="packed@example.com")
    order = place(client, store, customer, stock(store, "Already Packed"))
    order.status = "packed"
    db.session.commit()
    sign_in(htmx_client, customer)
    response = htmx_client.post(f"/account/orders/{order.id}/cancel")
    assert response.status_code == 409
    assert "can no longer be cancelled online" in response.get_data(as_text=True)
    db.session.refresh(order)
    assert order.status == "packed"
