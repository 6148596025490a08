"""Point 4: pickup slots, placing the order with holds, re-checks, one order per submit, e-mail."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from storefront_support import (
    add,
    add_package,
    checkout,
    enable_logs,
    enter,
    first_slot,
    open_all_day,
    order_id_from,
    sign_in,
    stock,
)

from extensions import db
from models.online.cart import Cart
from models.online.checkout import place_order
from models.online.menu import availability
from models.online.pickup import available_slots, find_slot, opening_hours, settings
from models.sales.orders import Order, OrderLine
from models.stock.packages import Reservation, StockMovement
from support import store_midday

# A Friday morning in Denver (16:00 UTC is 09:00 MST).
FRIDAY_9AM = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


def shopper(client, store, make_customer, email="buyer@example.com"):
    customer = make_customer(email=email)
    enter(client)
    sign_in(client, customer)
    return customer


# Slots ------------------------------------------------------------------------------------------


def test_slots_come_from_the_hours_and_skip_the_prep_time(store):
    store.hours = {"weekly": {"fri": [["10:00", "12:00"]], "sat": [["09:00", "10:00"]]}}
    store.pickup_slot_minutes = 30
    store.pickup_lead_minutes = 45
    db.session.commit()
    slots = available_slots(store, now=FRIDAY_9AM)
    local = [s.starts_at.astimezone(store.zone).strftime("%a %H:%M") for s in slots]
    # 09:00 + 45 min prep: the 10:00 slot is the first; Saturday 09:00-10:00 gives two more.
    assert local == ["Fri 10:00", "Fri 10:30", "Fri 11:00", "Fri 11:30", "Sat 09:00", "Sat 09:30"]
    assert all(s.ends_at - s.starts_at == timedelta(minutes=30) for s in slots)


def test_a_summary_line_is_read_when_no_structured_hours_exist(store):
    store.hours = {"summary": "Open daily 8 am – 10 pm"}
    db.session.commit()
    day = FRIDAY_9AM.date()
    assert [(a.hour, b.hour) for a, b in opening_hours(store, day)] == [(8, 22)]
    store.hours = {}
    db.session.commit()
    assert available_slots(store, now=FRIDAY_9AM) == []


def test_a_full_slot_is_shown_full_and_refused(client, store, make_customer):
    open_all_day(store, pickup_slot_capacity=1)
    shopper(client, store, make_customer)
    a, b = stock(store, "First"), stock(store, "Second")
    add(client, store, a, 1)
    slot = first_slot(store)
    assert checkout(client, store, slot=slot).status_code == 303
    assert find_slot(store, slot).full
    page = client.get(f"/stores/{store.code}/checkout")
    assert page.status_code == 302  # the cart became the order: nothing to check out
    add(client, store, b, 1)
    page = client.get(f"/stores/{store.code}/checkout").get_data(as_text=True)
    assert f'value="{slot}" disabled' in page and "Full" in page
    refused = checkout(client, store, slot=slot, **{"HX-Request": "true"})
    assert refused.status_code == 409
    assert "just filled up" in refused.get_data(as_text=True)


def test_checkout_needs_an_account(client, store):
    open_all_day(store)
    enter(client)
    add(client, store, stock(store, "Anything"), 1)
    response = client.get(f"/stores/{store.code}/checkout")
    assert response.status_code == 302
    assert "/account/login?next=" in response.headers["Location"]


# Placing the order -------------------------------------------------------------------------------


def test_placing_the_order_holds_stock_per_line(client, store, make_customer):
    open_all_day(store, pickup_grace_minutes=45)
    customer = shopper(client, store, make_customer)
    flower = stock(store, "Held Flower", quantity=5, price_cents=4000)
    edible = stock(store, "Held Gummies", quantity=5, category="edible", limit_category="edible",
                   strain_type="none", thc_pct_bp=None, thc_mg=100, net_weight_mg=30000,
                   price_cents=2000)  # fmt: skip
    add(client, store, flower, 2)
    add(client, store, edible, 1)
    slot = find_slot(store, first_slot(store))
    response = checkout(client, store, slot=slot.key)
    assert response.status_code == 303
    order = db.session.get(Order, order_id_from(response))
    assert (order.channel, order.status, order.customer_id) == ("web", "placed", customer.id)
    assert order.pickup_at == slot.starts_at and order.pickup_until == slot.ends_at
    assert order.hold_expires_at == slot.ends_at + timedelta(minutes=45)
    assert [(line.name, line.quantity) for line in order.lines] == [
        ("Held Flower", 2),
        ("Held Gummies", 1),
    ]
    assert order.subtotal_cents == 10000 and order.total_cents > order.subtotal_cents
    holds = list(db.session.scalars(select(Reservation).where(Reservation.order_id == order.id)))
    assert sorted(h.quantity for h in holds) == [1, 2]
    assert all(h.expires_at == order.hold_expires_at and h.released_at is None for h in holds)
    # Holds are not sales: the shelf still has 5 of each, the menu offers 3 and 4.
    assert [p.quantity for p in flower.packages] == [5]
    assert availability(flower) == 3 and availability(edible) == 4
    assert db.session.scalar(select(func.count()).select_from(StockMovement)) == 2
    # The cart became the order; the status page confirms it.
    assert db.session.scalars(select(Cart)).one().order_id == order.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Thank you! Your order is placed." in page and f"Order #{order.id}" in page


def test_holds_come_from_the_packages_that_expire_first(client, store, make_customer):
    open_all_day(store)
    shopper(client, store, make_customer)
    product = stock(store, "Two Jars", quantity=2)
    newer = product.packages[0]
    older = add_package(product, 2, expires_on=newer.expires_on - timedelta(days=9))
    add(client, store, product, 3)
    order = db.session.get(Order, order_id_from(checkout(client, store)))
    holds = {h.package_id: h.quantity for h in db.session.scalars(select(Reservation))}
    assert holds == {older.id: 2, newer.id: 1}
    assert order.lines[0].quantity == 3


def test_stock_gone_since_the_cart_is_a_clear_conflict(client, store, make_customer):
    open_all_day(store)
    shopper(client, store, make_customer)
    product = stock(store, "Popular", quantity=2)
    add(client, store, product, 2)
    # Someone at the register sells one in the meantime.
    package = product.packages[0]
    package.quantity = 1
    db.session.commit()
    response = checkout(client, store, **{"HX-Request": "true"})
    assert response.status_code == 409
    assert "Only 1 of Popular is left." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    assert db.session.scalar(select(func.count()).select_from(Reservation)) == 0


def test_limits_are_checked_again_when_placing(client, store, make_customer):
    with store_midday(store):  # the first pickup slot is today only while the store is open
        open_all_day(store)
        customer = shopper(client, store, make_customer)
        wax = stock(
            store,
            "Wax 4g",
            category="concentrate",
            limit_category="concentrate",
            strain_type="hybrid",
            net_weight_mg=4000,
            thc_mg=3000,
            price_cents=6000,
        )
        add(client, store, wax, 2)  # 8 g: exactly Colorado's daily concentrate cap
        # Meanwhile the customer bought 1 g of concentrate at the register.
        past = Order(
            store_id=store.id,
            channel="register",
            status="completed",
            customer_id=customer.id,
            completed_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        past.lines.append(OrderLine(product_id=wax.id, name="Wax 1g", brand="x", sku="W1",
                                    category="concentrate", limit_category="concentrate",
                                    quantity=1, unit_price_cents=100, net_weight_mg=1000,
                                    line_total_cents=100))  # fmt: skip
        db.session.add(past)
        db.session.commit()
        today = find_slot(store, first_slot(store))
        assert today.starts_at.astimezone(store.zone).date() == store.business_date()
        response = checkout(client, store, slot=today.key, **{"HX-Request": "true"})
        assert response.status_code == 409
        assert "Concentrate per day" in response.get_data(as_text=True)
        assert db.session.scalar(select(func.count()).select_from(Reservation)) == 0


def test_an_unfinished_online_order_counts_toward_the_daily_limit(client, store, make_customer):
    with store_midday(store):  # the first pickup slot is today only while the store is open
        open_all_day(store)
        shopper(client, store, make_customer)
        wax = stock(
            store,
            "Wax 4g",
            category="concentrate",
            limit_category="concentrate",
            strain_type="hybrid",
            net_weight_mg=4000,
            thc_mg=3000,
            price_cents=6000,
        )
        add(client, store, wax, 2)
        slot = first_slot(store)
        assert checkout(client, store, slot=slot).status_code == 303
        # A second order for the same pickup day would take the customer past 8 g.
        refused = add(client, store, wax, 1, **{"HX-Request": "true"})
        assert refused.status_code == 409 and "Concentrate per day" in refused.get_data(
            as_text=True
        )


def test_a_double_click_places_one_order(client, store, make_customer):
    open_all_day(store)
    shopper(client, store, make_customer)
    add(client, store, stock(store, "Once Only"), 1)
    key, slot = uuid.uuid4().hex, first_slot(store)
    first = checkout(client, store, slot=slot, key=key)
    second = checkout(client, store, slot=slot, key=key)
    htmx_replay = checkout(client, store, slot=slot, key=key, **{"HX-Request": "true"})
    assert first.status_code == second.status_code == 303
    assert order_id_from(first) == order_id_from(second) == order_id_from(htmx_replay)
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    assert db.session.scalar(select(func.count()).select_from(Reservation)) == 1
    # A reload gives a fresh key, but the cart is spent: still one order.
    again = checkout(client, store, slot=slot)
    assert again.status_code in (303, 204)
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1


def test_the_same_cart_cannot_become_two_orders(app, client, store, make_customer):
    open_all_day(store)
    customer = shopper(client, store, make_customer)
    add(client, store, stock(store, "One Cart"), 1)
    cart = db.session.scalars(select(Cart)).one()
    slot = first_slot(store)
    first = place_order(cart, customer, slot, uuid.uuid4().hex)
    db.session.commit()
    replay = place_order(cart, customer, slot, uuid.uuid4().hex)
    assert replay.replayed and replay.order.id == first.order.id


def test_confirmation_is_mailed_or_logged_without_personal_data(client, store, make_customer,
                                                                caplog):  # fmt: skip
    open_all_day(store)
    enable_logs(caplog, "pistil.mail")
    shopper(client, store, make_customer, email="private@example.com")
    add(client, store, stock(store, "Logged Item"), 1)
    order_id = order_id_from(checkout(client, store))
    assert f"mail order-{order_id}-placed" in caplog.text
    assert "private@example.com" not in caplog.text and "Logged Item" not in caplog.text


def test_with_smtp_the_confirmation_is_mailed(app, client, store, make_customer, monkeypatch):
    import smtplib

    sent = []

    class FakeSMTP:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            sent.append(message)

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    app.config["SMTP_URL"] = "smtp://mail.example:25"
    open_all_day(store)
    shopper(client, store, make_customer, email="mailed@example.com")
    add(client, store, stock(store, "Mailed Item"), 1)
    order_id = order_id_from(checkout(client, store))
    app.config.pop("SMTP_URL")
    assert [m["Subject"] for m in sent] == [f"Order #{order_id} is placed"]
    body = sent[0].get_content()
    assert "Mailed Item" in body and "Pay" not in body.split("Total")[0] and "ID" in body


def test_a_slot_the_store_no_longer_offers_is_refused(client, store, make_customer):
    open_all_day(store)
    shopper(client, store, make_customer)
    add(client, store, stock(store, "Late"), 1)
    response = checkout(client, store, slot="20200101T1200Z", **{"HX-Request": "true"})
    assert response.status_code == 422
    assert "no longer offered" in response.get_data(as_text=True)
    missing = client.post(
        f"/stores/{store.code}/checkout",
        data={"idempotency_key": uuid.uuid4().hex},
        headers={"HX-Request": "true"},
    )
    assert missing.status_code == 422 and "Choose a pickup time." in missing.get_data(True)


def test_store_settings_default_sensibly(store):
    rules = settings(store)
    assert (rules.slot_minutes, rules.capacity, rules.grace_minutes) == (30, 6, 60)
