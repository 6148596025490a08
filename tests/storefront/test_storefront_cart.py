"""Point 2: the cart before and after sign-in, the limit meter with history, taxes, refusals."""

from datetime import timedelta

from sqlalchemy import select
from storefront_support import add, enter, sign_in, stock

from extensions import db
from models.base import utcnow
from models.online.cart import Cart, CartLine
from models.sales.orders import Order, OrderLine
from support import check_card_at, store_today


def cart_page(client, store) -> str:
    return client.get(f"/stores/{store.code}/cart").get_data(as_text=True)


def test_a_guest_fills_a_cart_and_sees_limits_and_taxes(client, store):
    flower = stock(store, "Blue Dream 3.5g", price_cents=4000)
    enter(client)
    response = add(client, store, flower, 2)
    assert response.status_code == 303
    page = cart_page(client, store)
    assert "Blue Dream 3.5g" in page and "$80.00" in page
    # Colorado: 7 g of flower is 0.247 oz of the 1 oz flower-equivalent per sale.
    assert "Flower equivalent per sale" in page and "0.25 / 1.00 oz" in page
    assert "CO retail marijuana sales tax" in page
    assert "Sign in to check out" in page
    # The cart lives in the database, keyed by a token only the session knows.
    cart = db.session.scalars(select(Cart)).one()
    assert cart.customer_id is None and [line.quantity for line in cart.lines] == [2]


def test_units_add_up_and_the_cart_counts_in_the_header(client, htmx_client, store):
    gummies = stock(
        store,
        "Gummies",
        category="edible",
        limit_category="edible",
        strain_type="none",
        thc_pct_bp=None,
        thc_mg=100,
        net_weight_mg=40000,
    )
    enter(htmx_client)
    first = add(htmx_client, store, gummies, 1, **{"HX-Request": "true"})
    assert first.status_code == 200
    body = first.get_data(as_text=True)
    assert "<html" not in body and 'id="cart-link" class="btn btn-ghost cart-link"' in body
    assert 'hx-swap-oob="true"' in body and ">1<" in body
    add(htmx_client, store, gummies, 2)
    cart = db.session.scalars(select(Cart)).one()
    assert [line.quantity for line in cart.lines] == [3]


def test_more_than_the_shelf_has_is_refused(client, htmx_client, store):
    product = stock(store, "Scarce", quantity=2)
    enter(htmx_client)
    refused = add(htmx_client, store, product, 3)
    assert refused.status_code == 409
    assert "Only 2 of Scarce is available right now." in refused.get_data(as_text=True)
    enter(client)
    plain = add(client, store, product, 3)
    assert plain.status_code == 409 and "<html" in plain.get_data(as_text=True)


def test_a_line_that_breaks_a_limit_is_refused_with_the_reason(htmx_client, store):
    ounce = stock(store, "Big Bag 28g", net_weight_mg=28000, thc_mg=5600, price_cents=20000)
    eighth = stock(store, "Eighth 3.5g")
    enter(htmx_client)
    assert add(htmx_client, store, ounce, 1).status_code == 200
    refused = add(htmx_client, store, eighth, 1)
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "Eighth 3.5g cannot be added" in text and "Flower equivalent per sale" in text
    assert [line.product_id for line in db.session.scalars(select(CartLine))] == [ounce.id]


def test_a_product_missing_what_its_limit_needs_cannot_be_added(htmx_client, store):
    mystery = stock(store, "Mystery Bud", net_weight_mg=None)
    enter(htmx_client)
    refused = add(htmx_client, store, mystery, 1)
    assert refused.status_code == 409
    assert "net weight" in refused.get_data(as_text=True)


def test_change_and_remove_lines(client, htmx_client, store):
    product = stock(store, "Changeable", quantity=5)
    enter(htmx_client)
    add(htmx_client, store, product, 1)
    response = htmx_client.post(
        f"/stores/{store.code}/cart/update", data={"product_id": product.id, "quantity": 4}
    )
    assert response.status_code == 200 and '<div id="cart"' in response.get_data(as_text=True)
    assert db.session.scalars(select(CartLine)).one().quantity == 4
    too_many = htmx_client.post(
        f"/stores/{store.code}/cart/update", data={"product_id": product.id, "quantity": 6}
    )
    assert too_many.status_code == 409 and "Only 5" in too_many.get_data(as_text=True)
    off_menu = htmx_client.post(
        f"/stores/{store.code}/cart/update", data={"product_id": product.id, "quantity": 11}
    )
    assert off_menu.status_code == 422 and "between 1 and 10" in off_menu.get_data(as_text=True)
    gone = htmx_client.post(
        f"/stores/{store.code}/cart/update", data={"product_id": product.id, "quantity": 0}
    )
    assert "Your cart is empty" in gone.get_data(as_text=True)


def test_history_counts_for_a_signed_in_customer(client, store, make_customer):
    customer = make_customer(email="hist@example.com")
    wax = stock(store, "Wax 1g", category="concentrate", limit_category="concentrate",
                strain_type="hybrid", net_weight_mg=1000, thc_mg=800, price_cents=3000)  # fmt: skip
    # Earlier today the customer bought 7 g of concentrate (Colorado's cap is 8 g a day).
    past = Order(store_id=store.id, channel="register", status="completed",
                 customer_id=customer.id, completed_at=utcnow() - timedelta(minutes=5),
                 business_date=store.business_date())  # fmt: skip
    past.lines.append(OrderLine(product_id=wax.id, name="Wax 1g", brand="x", sku=wax.sku,
                                category="concentrate", limit_category="concentrate",
                                quantity=7, unit_price_cents=3000, net_weight_mg=1000,
                                thc_mg=800, line_total_cents=21000))  # fmt: skip
    db.session.add(past)
    db.session.commit()
    enter(client)
    sign_in(client, customer)
    assert add(client, store, wax, 1).status_code == 303
    page = cart_page(client, store)
    assert "Concentrate per day" in page and "7 g bought earlier" in page
    refused = add(client, store, wax, 1)
    assert refused.status_code == 409
    assert "Concentrate per day" in refused.get_data(as_text=True)


def test_a_checked_medical_card_makes_the_cart_medical(client, make_store, make_customer,
                                                       make_user):  # fmt: skip
    store = make_store(state="NM", rule_pack="NM", sells_medical=True, tracktrace_system="biotrack")
    patient = make_customer(email="pat@example.com", kind="medical",
                            medical_card_number="NM-12345", medical_card_state="NM",
                            medical_card_expires=store_today() + timedelta(days=90),
                            resident_state="NM")  # fmt: skip
    flower = stock(store, "Patient Flower")
    enter(client)
    add(client, store, flower, 1)
    assert "As an adult-use customer" in cart_page(client, store)
    sign_in(client, patient)
    page = cart_page(client, store)
    assert "As an adult-use customer" in page and "checked at the counter" in page
    check_card_at(store, patient, make_user(store))
    page = cart_page(client, store)
    assert "As a medical patient" in page and "Patient Flower" in page


def test_the_cart_carries_over_on_sign_in_and_merges_a_saved_one(client, store, make_customer):
    customer = make_customer(email="carry@example.com")
    first = stock(store, "From Last Week")
    second = stock(store, "From Today")
    # Last week, signed in on a phone, the customer left a cart.
    saved = Cart(token_hash="x" * 64, store_id=store.id, customer_id=customer.id)
    saved.lines.append(CartLine(product_id=first.id, quantity=1))
    db.session.add(saved)
    db.session.commit()
    enter(client)
    add(client, store, second, 2)
    sign_in(client, customer)
    page = cart_page(client, store)
    assert "From Last Week" in page and "From Today" in page
    carts = list(db.session.scalars(select(Cart)))
    assert len(carts) == 1 and carts[0].customer_id == customer.id
    assert sorted(line.quantity for line in carts[0].lines) == [1, 2]


def test_signing_out_leaves_the_cart_with_the_account(client, store, make_customer):
    customer = make_customer(email="away@example.com")
    product = stock(store, "Kept For Later")
    enter(client)
    sign_in(client, customer)
    add(client, store, product, 1)
    client.post("/logout")
    enter(client)
    assert "Your cart is empty" in cart_page(client, store)
    sign_in(client, customer)
    assert "Kept For Later" in cart_page(client, store)


def test_another_customers_cart_is_not_reachable(app, store, make_customer):
    alice = make_customer(email="alice@example.com")
    bob = make_customer(email="bob@example.com")
    product = stock(store, "Alice's Pick")
    alice_client, bob_client = app.test_client(), app.test_client()
    enter(alice_client)
    sign_in(alice_client, alice)
    add(alice_client, store, product, 1)
    # Bob's browser somehow holds Alice's cart token: it must not open her cart.
    with alice_client.session_transaction() as alice_session:
        tokens = dict(alice_session["carts"])
    enter(bob_client)
    sign_in(bob_client, bob)
    with bob_client.session_transaction() as bob_session:
        bob_session["carts"] = tokens
    assert "Alice&#39;s Pick" not in cart_page(bob_client, store)
    assert add(bob_client, store, product, 1).status_code == 303
    carts = {c.customer_id: c for c in db.session.scalars(select(Cart))}
    assert set(carts) == {alice.id, bob.id}
