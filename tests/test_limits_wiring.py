"""The engines fed from the database: products, past sales, stores' packs and local rates."""

from datetime import timedelta

import pytest

from extensions import db
from models.base import utcnow
from models.catalog.products import Product
from models.rules.purchase_limits import cart_line, check_cart, purchase_history
from models.sales.orders import Order, OrderLine
from support import store_today


def product(store, **overrides):
    fields = dict(
        store_id=store.id, sku=f"SKU-{overrides.get('name', 'x')}", name="Shatter 1g",
        brand="B", category="concentrate", limit_category="concentrate", net_weight_mg=1000,
        thc_mg=780, thc_pct_bp=7800, price_cents=3000,
    )  # fmt: skip
    fields.update(overrides)
    row = Product(**fields)
    db.session.add(row)
    db.session.commit()
    return row


def past_sale(store, customer, item, quantity, days_ago, status="completed"):
    at = utcnow() - timedelta(days=days_ago)
    order = Order(store_id=store.id, channel="register", status=status, customer_id=customer.id,
                  customer_class="adult_use", completed_at=at, business_date=at.date())  # fmt: skip
    order.lines.append(
        OrderLine(
            product_id=item.id,
            name=item.name,
            brand=item.brand,
            sku=item.sku,
            category=item.category,
            limit_category=item.limit_category,
            quantity=quantity,
            unit="each",
            unit_price_cents=item.price_cents,
            net_weight_mg=item.net_weight_mg,
            thc_mg=item.thc_mg,
            line_total_cents=item.price_cents * quantity,
        )  # fmt: skip
    )
    db.session.add(order)
    db.session.commit()
    return order


def test_colorado_concentrate_counts_earlier_sales_the_same_day(store, make_customer):
    shatter = product(store)
    customer = make_customer()
    past_sale(store, customer, shatter, 5, days_ago=0)
    check = check_cart(store, [(shatter, 3, 9000)], "adult_use", customer)
    daily = next(r for r in check.verdict.rules if r.unit == "g" and r.window == "calendar_day")
    assert daily.earlier == 5 and daily.used == 8 and daily.ok
    over = check_cart(store, [(shatter, 4, 12000)], "adult_use", customer)
    assert not over.verdict.ok
    assert any("over the limit" in m for m in over.verdict.messages)


def test_history_ignores_other_states_voided_sales_and_other_customers(make_store, make_customer):
    denver, santa_fe = (
        make_store(),
        make_store(state="NM", rule_pack="NM", tracktrace_system="biotrack"),
    )
    customer, stranger = make_customer(), make_customer()
    item = product(denver)
    nm_item = product(santa_fe)
    past_sale(denver, customer, item, 1, days_ago=1)
    past_sale(santa_fe, customer, nm_item, 2, days_ago=1)
    past_sale(denver, customer, item, 3, days_ago=1, status="voided")
    past_sale(denver, stranger, item, 4, days_ago=1)
    history = purchase_history(customer, denver)
    assert [p.lines[0].quantity for p in history] == [1]


def test_a_caregiver_buys_against_the_patients_allotment(make_store, make_customer):
    store = make_store(state="NM", rule_pack="NM", tracktrace_system="biotrack")
    card_expiry = store_today() + timedelta(days=90)
    patient = make_customer(kind="medical", medical_card_number="NM-P-1",
                            medical_card_expires=card_expiry)  # fmt: skip
    caregiver = make_customer(
        kind="caregiver",
        medical_card_number="NM-C-1",
        medical_card_expires=card_expiry,
        caregiver_for_id=patient.id,
    )
    item = product(store)
    past_sale(store, patient, item, 2, days_ago=10)
    history = purchase_history(caregiver, store)
    assert [p.lines[0].quantity for p in history] == [2]


def test_a_product_missing_the_potency_its_category_needs_is_refused_by_name(store):
    gummies = product(store, name="Gummies", category="edible", limit_category="edible",
                      net_weight_mg=40000, thc_mg=None, thc_pct_bp=None)  # fmt: skip
    check = check_cart(store, [(gummies, 1, 1800)], "adult_use")
    assert not check.verdict.ok
    assert any("thc" in r.field.lower() for r in check.verdict.refusals if r.field)


def test_bulk_flower_is_counted_by_the_weighed_amount(store):
    jar = product(store, name="House", category="flower", limit_category="flower",
                  sold_by="weight", net_weight_mg=None, thc_mg=None, thc_pct_bp=2000,
                  price_cents=800)  # fmt: skip
    line = cart_line(jar, 3543)
    assert (line.net_weight_mg, line.thc_mg, line.quantity) == (3543, 709, 1)


def test_store_local_rates_are_exact_decimals(make_store):
    store = make_store(state="NM", rule_pack="NM", tracktrace_system="biotrack",
                       local_tax_rates_bp={"gross_receipts": "787.5"})  # fmt: skip
    item = product(store, name="Flower", category="flower", limit_category="flower",
                   net_weight_mg=3500, thc_mg=700, price_cents=4000)  # fmt: skip
    check = check_cart(store, [(item, 1, 4000)], "adult_use", at=utcnow())
    grt = next(t for t in check.taxes.lines if "ross" in t.name)
    assert grt.amount_cents == 315  # 7.875% of $40.00 = $3.15
    assert sum(t.amount_cents for t in check.taxes.lines) == check.taxes.tax_cents


@pytest.fixture
def manager_client(client, store, make_user, login_as):
    login_as(client, make_user(store, role="manager"))
    return client


def test_what_if_page_shows_the_meter_and_taxes(manager_client):
    page = manager_client.get("/manage/limits")
    assert page.status_code == 200 and "what if?" in page.get_data(as_text=True)
    query = {
        "state": "CO", "customer_class": "adult_use", "day": "2026-07-01",
        "lines-0-category": "concentrate", "lines-0-net_weight": "8", "lines-0-thc": "6000",
        "lines-0-quantity": "1", "lines-0-price": "120",
    }  # fmt: skip
    ok = manager_client.get("/manage/limits", query_string=query).get_data(as_text=True)
    assert "Within the limits" in ok and "8 / 8 g" in ok and "Total" in ok
    query["lines-0-net_weight"] = "8.001"
    over = manager_client.get("/manage/limits", query_string=query).get_data(as_text=True)
    assert "Over the limit" in over and "over the limit" in over


def test_what_if_nonresident_in_illinois_halves_the_cap(manager_client):
    query = {
        "state": "IL", "customer_class": "adult_use", "day": "2026-07-01",
        "lines-0-category": "flower", "lines-0-net_weight": "16", "lines-0-quantity": "1",
        "lines-0-thc": "3200", "lines-0-price": "100",
    }  # fmt: skip
    assert "Within the limits" in manager_client.get("/manage/limits", query_string=query).text
    query["non_resident"] = "y"
    assert "Over the limit" in manager_client.get("/manage/limits", query_string=query).text


def test_what_if_bad_input_rerenders_with_messages(manager_client, htmx_client, login_as):
    query = {"state": "CO", "customer_class": "adult_use", "lines-0-category": "flower",
             "lines-0-net_weight": "3.5555", "lines-0-price": "abc"}  # fmt: skip
    response = manager_client.get("/manage/limits", query_string=query)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "at most 3 decimals" in body and "as a number" in body


def test_what_if_htmx_gets_the_fragment_and_new_lines(manager_client):
    manager_client.environ_base["HTTP_HX_REQUEST"] = "true"
    query = {"state": "CO", "customer_class": "adult_use"}
    fragment = manager_client.get("/manage/limits", query_string=query).get_data(as_text=True)
    assert '<div id="whatif"' in fragment
    assert "<html" not in fragment
    row = manager_client.get("/manage/limits/line?index=3").get_data(as_text=True)
    assert 'name="lines-3-category"' in row and 'hx-swap-oob="true"' in row
    assert "index=4" in row


def test_budtenders_cannot_use_the_what_if_page(client, store, make_user, login_as):
    login_as(client, make_user(store))
    assert client.get("/manage/limits").status_code == 403
