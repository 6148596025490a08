"""A local tax rate above the state's cap, saved before caps were checked, stops sales clearly."""

from register_support import make_package, make_product, open_sale
from storefront_support import add, enter, stock

from extensions import db


def over_the_cap(store):
    # Colorado's local marijuana tax is capped; 25% was accepted before the caps were checked.
    store.local_tax_rates_bp = {"local_marijuana": "2500"}
    db.session.commit()


def test_the_register_refuses_to_sell_with_a_local_rate_above_the_cap_and_says_why(
    htmx_client, store, make_user, login_as
):
    over_the_cap(store)
    budtender = make_user(store)
    login_as(htmx_client, budtender)
    order = open_sale(store, budtender)
    jar = make_package(make_product(store), 5)
    response = htmx_client.post(f"/register/sale/{order.id}/scan", data={"tag": jar.tag})
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "local marijuana tax" in body.lower() and "Settings" in body
    assert "25%" in body


def test_the_online_cart_says_why_nothing_can_be_added(client, htmx_client, store):
    store.online_ordering = True
    over_the_cap(store)
    flower = stock(store, "Blue Dream 3.5g", price_cents=4000)
    for browser in (client, htmx_client):
        enter(browser)
        response = add(browser, store, flower, 1)
        if response.status_code == 303:
            response = browser.get(response.headers["Location"])
        text = response.get_data(as_text=True)
        assert response.status_code in (200, 409), response.status_code
        assert "above the 15% the state allows" in text and "25%" in text
