"""Building a sale: scanning tags, picking from the menu, quantities, refusals, limits and taxes."""

from datetime import timedelta

import pytest
from register_support import make_package, make_product, open_sale

from extensions import db
from models.sales.amounts import allocate, parse_cents, parse_grams, parse_percent
from models.sales.completion import quick_cash
from models.sales.errors import SaleError, StockConflict
from models.sales.lines import add_by_tag, add_product
from models.sales.orders import Order, OrderLine
from models.sales.scanning import search_menu
from support import store_today


@pytest.fixture
def selling(htmx_client, store, make_user, login_as):
    """A signed-in budtender with an open sale for an anonymous adult."""
    budtender = make_user(store)
    login_as(htmx_client, budtender)
    return open_sale(store, budtender)


def sold_out(package):
    package.quantity = 0
    db.session.commit()
    return package


def scan(client, order, tag):
    return client.post(f"/register/sale/{order.id}/scan", data={"tag": tag})


def lines_of(order_id):
    db.session.expire_all()
    return db.session.get(Order, order_id).lines


def test_scanning_a_tag_adds_that_exact_package_and_refreshes_meter_and_taxes(
    htmx_client, store, selling
):
    jar = make_product(store, name="Blue Dream 3.5g")
    older = make_package(jar, 5, expires_on=store_today() + timedelta(days=5))
    scanned = make_package(jar, 5, expires_on=store_today() + timedelta(days=300))
    response = scan(htmx_client, selling, f" {scanned.tag.lower()}\n")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="cart"')
    assert f"Added Blue Dream 3.5g ({scanned.tag})" in body
    (line,) = lines_of(selling.id)
    assert (line.package_id, line.quantity, line.unit) == (scanned.id, 1, "each")
    assert line.package_id != older.id
    # The meter (3.5 g of a 1 oz flower-equivalent pool) and each tax came in the same fragment.
    assert "Flower equivalent per sale" in body and 'value="12"' in body
    assert "CO retail marijuana sales tax" in body and "$5.25" in body and "$40.25" in body
    assert len(body.encode()) < 15_000


def test_scanning_the_same_package_again_adds_to_its_line(htmx_client, store, selling):
    package = make_package(make_product(store), 5)
    scan(htmx_client, selling, package.tag)
    scan(htmx_client, selling, package.tag)
    (line,) = lines_of(selling.id)
    assert line.quantity == 2 and line.line_total_cents == 7000


def test_the_sale_survives_a_reload(htmx_client, client, store, selling):
    package = make_package(make_product(store, name="Gelato 3.5g"), 5)
    scan(htmx_client, selling, package.tag)
    page = htmx_client.get(f"/register/sale/{selling.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and body.lstrip().startswith('<div id="screen"')
    assert "Gelato 3.5g" in body and package.tag in body


@pytest.mark.parametrize(
    "setup, status, message",
    [
        (
            lambda store, other: "1A40603000FFFFFF00000001",
            422,
            "Unknown tag 1A40603000FFFFFF00000001",
        ),
        (
            lambda store, other: make_package(make_product(other), 5).tag,
            409,
            "belongs to another store",
        ),
        (
            lambda store, other: (
                make_package(make_product(store), 5, on_hold=True, hold_reason="recall 12").tag
            ),
            409,
            "is on hold (recall 12)",
        ),
        (
            lambda store, other: make_package(make_product(store), 5, lab_status="failed").tag,
            409,
            "failed its lab test",
        ),
        (
            lambda store, other: make_package(make_product(store), 5, lab_status="pending").tag,
            409,
            "waiting for its lab test",
        ),
        (
            lambda store, other: (
                make_package(
                    make_product(store), 5, expires_on=store_today() - timedelta(days=1)
                ).tag
            ),
            409,
            "expired on",
        ),
        (
            lambda store, other: sold_out(make_package(make_product(store), 1)).tag,
            409,
            "Out of stock",
        ),
        (
            lambda store, other: (
                make_package(
                    make_product(store, category="edible", limit_category="edible", thc_mg=None), 5
                ).tag
            ),
            409,
            "THC content (mg) is missing",
        ),
        (
            lambda store, other: make_package(make_product(store, net_weight_mg=None), 5).tag,
            409,
            "net weight (mg) is missing",
        ),
    ],
    ids=[
        "unknown",
        "other-store",
        "on-hold",
        "failed-lab",
        "pending-lab",
        "expired",
        "out-of-stock",
        "no-thc",
        "no-weight",
    ],
)
def test_a_scan_that_cannot_be_sold_is_refused_with_its_reason(
    htmx_client, store, make_store, selling, setup, status, message
):
    tag = setup(store, make_store())
    response = scan(htmx_client, selling, tag)
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert 'class="cart-message cart-message-error" role="alert"' in body
    assert message in body
    assert lines_of(selling.id) == []


def test_scanning_a_license_into_the_tag_box_says_so(htmx_client, store, selling):
    from register_support import license_text

    response = scan(htmx_client, selling, license_text())
    assert response.status_code == 422
    assert "That is a driver&#39;s license" in response.get_data(as_text=True)


def test_stock_held_by_an_online_order_is_not_sold_at_the_register(
    htmx_client, store, selling, make_customer
):
    from models.base import utcnow
    from models.stock.packages import Reservation

    package = make_package(make_product(store), 2)
    web = Order(store_id=store.id, channel="web", status="placed")
    db.session.add(web)
    db.session.flush()
    db.session.add(
        Reservation(
            order_id=web.id,
            package_id=package.id,
            quantity=2,
            expires_at=utcnow() + timedelta(minutes=10),
        )
    )
    db.session.commit()
    response = scan(htmx_client, selling, package.tag)
    assert response.status_code == 409
    assert "has none left" in response.get_data(as_text=True)


def test_going_over_the_limit_is_refused_and_the_cart_stays_legal(htmx_client, store, selling):
    jar = make_package(make_product(store, name="Big Jar 14g", net_weight_mg=14000), 5)
    assert scan(htmx_client, selling, jar.tag).status_code == 200
    assert scan(htmx_client, selling, jar.tag).status_code == 200  # 28 g: just under 1 oz
    third = scan(htmx_client, selling, jar.tag)
    assert third.status_code == 409
    assert "Flower equivalent per sale" in third.get_data(as_text=True)
    (line,) = lines_of(selling.id)
    assert line.quantity == 2


def test_the_menu_search_proposes_the_first_expiring_package(htmx_client, store, selling):
    product = make_product(store, name="Wedding Cake 3.5g", brand="Front Range")
    late = make_package(product, 5, expires_on=store_today() + timedelta(days=300))
    soon = make_package(product, 5, expires_on=store_today() + timedelta(days=20))
    make_package(product, 5, expires_on=store_today() + timedelta(days=2), on_hold=True)
    results = htmx_client.get(f"/register/sale/{selling.id}/products?q=wedding front")
    body = results.get_data(as_text=True)
    assert results.status_code == 200 and body.lstrip().startswith('<div id="product-results"')
    assert f'From package <span class="mono">{soon.tag}</span>' in body
    response = htmx_client.post(f"/register/sale/{selling.id}/add", data={"product_id": product.id})
    assert response.status_code == 200
    assert f"from package {soon.tag}" in response.get_data(as_text=True)
    assert lines_of(selling.id)[0].package_id == soon.id
    assert late.id != soon.id


def test_adding_more_than_the_first_package_holds_moves_to_the_next(store, make_user):
    user = make_user(store)
    order = open_sale(store, user)
    product = make_product(store, category="preroll", limit_category="preroll", net_weight_mg=1000)
    first = make_package(product, 1, expires_on=store_today() + timedelta(days=5))
    second = make_package(product, 9, expires_on=store_today() + timedelta(days=50))
    add_product(order, product, 3)
    db.session.commit()
    assert [line.package_id for line in order.lines] == [second.id]
    with pytest.raises(StockConflict, match="only 7 of"):
        add_product(order, product, 8)
    db.session.rollback()
    assert first.quantity == 1


def test_bulk_flower_sells_by_the_gram(htmx_client, store, selling):
    deli = make_product(
        store, name="House Blend", sold_by="weight", price_cents=800, net_weight_mg=None,
        thc_mg=None, thc_pct_bp=1890,
    )  # fmt: skip
    package = make_package(deli, 454000)
    response = htmx_client.post(
        f"/register/sale/{selling.id}/add", data={"product_id": deli.id, "quantity": "3.5"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    (line,) = lines_of(selling.id)
    assert (line.unit, line.quantity, line.line_total_cents) == ("grams", 3500, 2800)
    assert line.thc_mg == 662 and line.package_id == package.id
    changed = htmx_client.post(
        f"/register/sale/{selling.id}/lines/{line.id}/quantity", data={"quantity": "7.25"}
    )
    assert changed.status_code == 200
    (line,) = lines_of(selling.id)
    assert (line.quantity, line.line_total_cents) == (7250, 5800)
    bad = htmx_client.post(
        f"/register/sale/{selling.id}/lines/{line.id}/quantity", data={"quantity": "lots"}
    )
    assert bad.status_code == 422 and "not a weight in grams" in bad.get_data(as_text=True)


def test_plus_minus_and_remove_change_the_lines(htmx_client, store, selling):
    package = make_package(make_product(store, name="Mints"), 3)
    scan(htmx_client, selling, package.tag)
    (line,) = lines_of(selling.id)
    url = f"/register/sale/{selling.id}/lines/{line.id}"
    assert htmx_client.post(f"{url}/quantity", data={"quantity": "3"}).status_code == 200
    more = htmx_client.post(f"{url}/quantity", data={"quantity": "4"})
    assert more.status_code == 409 and "only 3 left" in more.get_data(as_text=True)
    assert lines_of(selling.id)[0].quantity == 3
    assert htmx_client.post(f"{url}/quantity", data={"quantity": "0"}).status_code == 200
    assert lines_of(selling.id) == []
    scan(htmx_client, selling, package.tag)
    (line,) = lines_of(selling.id)
    removed = htmx_client.post(f"/register/sale/{selling.id}/lines/{line.id}/remove")
    assert removed.status_code == 200 and "Line removed." in removed.get_data(as_text=True)
    assert lines_of(selling.id) == []


def test_another_stores_sale_is_not_found(htmx_client, make_store, make_user, selling):
    other = make_store()
    foreign = open_sale(other, make_user(other))
    assert htmx_client.get(f"/register/sale/{foreign.id}").status_code == 404
    assert scan(htmx_client, foreign, "X").status_code == 404


def test_a_closed_sale_cannot_be_changed(store, make_user):
    order = open_sale(store, make_user(store))
    order.status = "cancelled"
    db.session.commit()
    package = make_package(make_product(store), 3)
    with pytest.raises(SaleError, match="no longer open"):
        add_by_tag(order, package.tag)


def test_cancelling_an_open_sale_takes_it_off_the_queue(htmx_client, store, selling):
    response = htmx_client.post(f"/register/sale/{selling.id}/cancel")
    assert response.status_code == 204 and "HX-Location" in response.headers
    assert db.session.get(Order, selling.id).status == "cancelled"
    assert f"/register/sale/{selling.id}" not in htmx_client.get("/register/queue").get_data(
        as_text=True
    )


def test_menu_search_escapes_wildcards(store, make_user):
    make_product(store, name="Plain Jar")
    assert search_menu(store, "%", None) == []
    assert [p.product.name for p in search_menu(store, "plain", None)] == ["Plain Jar"]


@pytest.mark.parametrize(
    "text, cents", [("12", 1200), ("12.5", 1250), ("$1,200.05", 120005), ("", None)]
)
def test_money_typed_by_people_becomes_cents(text, cents):
    assert parse_cents(text) == cents


@pytest.mark.parametrize("text", ["1.234", "-3", "abc", "nan"])
def test_money_that_is_not_money_is_refused(text):
    with pytest.raises(SaleError):
        parse_cents(text)


def test_grams_and_percent_parse_exactly():
    assert parse_grams("3.5") == 3500 and parse_grams("0.001 g") == 1
    assert parse_percent("12.5%") == 1250
    with pytest.raises(SaleError):
        parse_grams("1.0005")


def test_allocation_spreads_every_cent():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert sum(allocate(997, [3500, 1200, 800])) == 997
    assert allocate(0, [5]) == [0] and allocate(5, [0, 0]) == [0, 0]


def test_quick_cash_suggests_exact_then_round_notes():
    assert quick_cash(4025) == [4025, 4500, 5000, 6000]
    assert quick_cash(0) == []


def test_lines_snapshot_what_was_sold(htmx_client, store, selling):
    product = make_product(store, name="Snap 3.5g", price_cents=4200, thc_mg=800)
    package = make_package(product, 3)
    scan(htmx_client, selling, package.tag)
    product.price_cents = 9999
    db.session.commit()
    line = db.session.query(OrderLine).one()
    assert (line.unit_price_cents, line.package_tag, line.thc_mg) == (4200, package.tag, 800)
