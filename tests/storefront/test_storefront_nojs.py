"""Without JavaScript: browse, filter, add to cart and check out with plain HTML forms."""

from storefront_support import html_forms, open_all_day, stock, submit

from extensions import db
from models.sales.orders import Order
from support import PASSWORD


def form_with(page: str, action_part: str, index: int = 0):
    forms = [f for f in html_forms(page) if action_part in f.action]
    assert forms, f"no form posting to {action_part}"
    return forms[index]


def test_a_customer_without_javascript_orders_for_pickup(client, store, make_customer):
    open_all_day(store)
    customer = make_customer(email="plain@example.com")
    email = customer.email
    lemon = stock(store, "Lemon Haze 3.5g", strain_type="sativa", thc_pct_bp=1900, price_cents=3500)
    gummies = stock(store, "Sleepy Gummies", category="edible", limit_category="edible",
                    strain_type="indica", thc_pct_bp=None, thc_mg=100, net_weight_mg=30000,
                    price_cents=2200)  # fmt: skip
    # SQLite: the test's own session must not hold the write lock while the app works.
    lemon_id, gummies_id, code = lemon.id, gummies.id, store.code
    db.session.rollback()

    # The age gate is a form with two submit buttons.
    gate = client.get("/").get_data(as_text=True)
    answered = submit(client, form_with(gate, "/age"), answer="yes")
    assert answered.status_code == 303
    stores = client.get(answered.headers["Location"]).get_data(as_text=True)
    assert f'href="/stores/{code}"' in stores

    # The filter form is a GET form; submitting it reloads the page with the results.
    menu = client.get(f"/stores/{code}").get_data(as_text=True)
    filters = form_with(menu, f"/stores/{code}")
    assert filters.method == "get"
    filtered = submit(client, filters, strain="indica", in_stock="y").get_data(as_text=True)
    assert "Sleepy Gummies" in filtered and "Lemon Haze" not in filtered
    # A section tab is a plain link carrying the filters.
    assert f"/stores/{code}?category=edible" in filtered

    # Add from the menu card: back to the menu with a message.
    add_card = next(
        f
        for f in html_forms(filtered)
        if "/cart/add" in f.action and ("product_id", str(gummies_id)) in f.fields
    )
    added = submit(client, add_card)
    assert added.status_code == 303
    back = client.get(added.headers["Location"]).get_data(as_text=True)
    assert "Added Sleepy Gummies to your cart." in back

    # Open the product page and add two of the flower with its quantity picker.
    page = client.get(f"/stores/{code}/products/{lemon_id}").get_data(as_text=True)
    submit(client, form_with(page, "/cart/add"), quantity="2")

    # The cart: change an amount with the Update button, then go to sign in.
    cart = client.get(f"/stores/{code}/cart").get_data(as_text=True)
    assert "Update" in cart and "Sign in to check out" in cart
    update = next(
        f
        for f in html_forms(cart)
        if "/cart/update" in f.action and "quantity" in f.selects
        and ("product_id", str(gummies_id)) in f.fields
    )  # fmt: skip
    assert submit(client, update, quantity="2").status_code == 303

    # Signing in from the cart goes on to the checkout with the same cart.
    login = client.get(f"/account/login?next=/stores/{code}/checkout").get_data(as_text=True)
    signed = submit(client, form_with(login, "/account/login"), email=email, password=PASSWORD)
    assert signed.status_code == 303
    assert signed.headers["Location"].endswith(f"/stores/{code}/checkout")
    checkout_page = client.get(signed.headers["Location"]).get_data(as_text=True)
    assert "Sleepy Gummies" in checkout_page and "Lemon Haze 3.5g" in checkout_page

    # Choose the first open slot and place the order.
    form = form_with(checkout_page, "/checkout")
    slot = next(v for v, _ in form.radios["slot"] if v not in form.attrs.get("disabled_values", []))
    placed = submit(client, form, slot=slot)
    assert placed.status_code == 303
    status = client.get(placed.headers["Location"]).get_data(as_text=True)
    assert "Thank you! Your order is placed." in status
    order = db.session.scalars(db.select(Order)).one()
    assert order.customer.email == email
    assert sorted((line.name, line.quantity) for line in order.lines) == [
        ("Lemon Haze 3.5g", 2),
        ("Sleepy Gummies", 2),
    ]

    # Cancelling is a plain form too.
    cancel = form_with(status, "/cancel")
    db.session.rollback()
    assert submit(client, cancel).status_code == 303
    db.session.refresh(order)
    assert order.status == "cancelled"
