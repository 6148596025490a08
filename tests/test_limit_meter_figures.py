"""The limit meter and limit messages read in plain figures on every screen that shows them."""

import re

import pytest
from register_support import make_package, make_product, open_sale
from storefront_support import add, enter, open_all_day, order_id_from, sign_in, stock
from storefront_support import checkout as place_order

from models.rules.cart_lines import CartLine, CustomerProfile
from models.rules.limits import evaluate
from models.rules.packs import load_pack
from support import CSRF_TOKEN, store_today

GUMMIES = {
    "category": "edible",
    "limit_category": "edible",
    "strain_type": "none",
    "thc_pct_bp": None,
    "thc_mg": 100,
    "net_weight_mg": 40000,
    "price_cents": 2000,
}


@pytest.fixture
def nm_store(make_store):
    """A New Mexico store (800 mg of edible THC per sale), open for online pickup all day."""
    store = make_store(state="NM", rule_pack="NM", tracktrace_system="biotrack")
    open_all_day(store)
    return store


# A figure in scientific notation (2E+2, 1.5e-3); the random CSRF token is left out of the search.
EXPONENT = re.compile(r"\d(?:\.\d+)?[eE][+-]\d")


def no_exponent(page: str) -> None:
    found = EXPONENT.search(CSRF_TOKEN.sub("", page))
    assert found is None, page[max(found.start() - 120, 0) : found.end() + 40]


def test_the_register_meter_reads_whole_milligrams_of_thc(
    htmx_client, nm_store, make_user, login_as
):
    budtender = make_user(nm_store)
    login_as(htmx_client, budtender)
    sale = open_sale(nm_store, budtender)
    package = make_package(make_product(nm_store, name="Gummies", **GUMMIES), 10)
    for _ in range(2):
        response = htmx_client.post(f"/register/sale/{sale.id}/scan", data={"tag": package.tag})
    body = response.get_data(as_text=True)
    assert "200 / 800 mg THC" in body and "600 mg THC left" in body
    no_exponent(body)


def test_the_register_meter_reads_grams_and_colorado_ounces_as_people_say_them(
    htmx_client, store, make_store, make_user, login_as
):
    budtender = make_user(store)
    login_as(htmx_client, budtender)
    sale = open_sale(store, budtender)
    eighth = make_package(make_product(store, name="Blue Dream 3.5g"), 10)
    body = htmx_client.post(f"/register/sale/{sale.id}/scan", data={"tag": eighth.tag})
    # Colorado: an eighth is 0.1235 oz of the 1 oz flower equivalent, read up to 0.13 oz.
    assert "0.13 / 1.00 oz" in body.get_data(as_text=True)
    nm = make_store(state="NM", rule_pack="NM", tracktrace_system="biotrack")
    nm_budtender = make_user(nm)
    login_as(htmx_client, nm_budtender)
    nm_sale = open_sale(nm, nm_budtender)
    jar = make_package(make_product(nm, name="Blue Dream 4.5g", net_weight_mg=4500), 10)
    page = htmx_client.post(f"/register/sale/{nm_sale.id}/scan", data={"tag": jar.tag})
    # New Mexico: 2 oz of flower per sale is 56.699 g; what is left never reads more than it is.
    body = page.get_data(as_text=True)
    assert "4.5 / 56.7 g" in body and "52.19 g left" in body
    no_exponent(body)


def test_the_online_cart_checkout_and_packing_meters_read_plain_figures(
    app, client, nm_store, make_customer, make_user, login_as
):
    gummies = stock(nm_store, "Gummies", quantity=10, **GUMMIES)
    customer = make_customer(email="gummies@example.com", resident_state="NM")
    enter(client)
    sign_in(client, customer)
    add(client, nm_store, gummies, 1)
    for path in ("cart", "checkout"):
        page = client.get(f"/stores/{nm_store.code}/{path}").get_data(as_text=True)
        assert "100 / 800 mg THC" in page, path
        no_exponent(page)
    order_id = order_id_from(place_order(client, nm_store))
    register = app.test_client()
    register.environ_base["HTTP_HX_REQUEST"] = "true"
    login_as(register, make_user(nm_store))
    assert register.post(f"/register/online/{order_id}/accept").status_code == 200
    page = register.get(f"/register/online/{order_id}").get_data(as_text=True)
    assert "100 / 800 mg THC" in page
    no_exponent(page)


def test_limit_messages_name_units_as_people_do():
    profile = CustomerProfile({"adult_use"}, age=30)
    verdict = evaluate(load_pack("CO"), profile, [CartLine("flower", 30000)], [], store_today())
    assert verdict.messages == (
        "Flower equivalent per sale: 1.06 of 1.00 oz in this sale, 0.06 oz over the limit.",
    )
    edibles = [CartLine("edible", 40000, thc_mg=100, quantity=9)]
    verdict = evaluate(load_pack("NM"), profile, edibles, [], store_today())
    assert verdict.messages == (
        "Edible THC per sale: 900 of 800 mg in this sale, 100 mg over the limit.",
    )
