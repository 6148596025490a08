"""Odd input never crashes the register: every form answers 4xx with a message, never a 500."""

import uuid

import pytest
from register_support import make_package, make_product, open_sale

from extensions import db
from models.sales.lines import add_by_tag

HUGE = "99999999999999999999"
ODD_VALUES = ["", " ", "-1", "0", "1e9", HUGE, "NaN", "½", "１２", "x" * 500, "<script>", "12.3456"]


@pytest.fixture
def sale(htmx_client, store, make_user, login_as):
    user = make_user(store)
    login_as(htmx_client, user)
    htmx_client.post("/register/drawer/open", data={"name": "R1", "float_amount": "100"})
    order = open_sale(store, user)
    add_by_tag(order, make_package(make_product(store), 5).tag)
    db.session.commit()
    return order


@pytest.mark.parametrize("value", ODD_VALUES)
def test_odd_values_in_every_sale_form_are_answered_without_a_crash(htmx_client, sale, value):
    line_id = sale.lines[0].id
    base = f"/register/sale/{sale.id}"
    requests = [
        (f"{base}/scan", {"tag": value}),
        (f"{base}/add", {"product_id": value, "quantity": value}),
        (f"{base}/lines/{line_id}/quantity", {"quantity": value}),
        (f"{base}/lines/{line_id}/discount", {"kind": "amount", "value": value, "reason": value}),
        (f"{base}/discount", {"kind": "percent", "value": value, "reason": "x"}),
        (f"{base}/complete", {"client_token": value, "cash_given": value, "debit": value}),
        (f"{base}/complete", {"client_token": uuid.uuid4().hex, "cash_given": value}),
        ("/register/checkin/scan", {"scan": value, "card_number": value, "card_expires": value}),
        ("/register/checkin/manual", {"birth": value, "id_expires": value, "id_number": value}),
        ("/register/customers", {"q": value}),
        ("/register/drawer/move", {"kind": "drop", "amount": value, "reason": value}),
        ("/register/drawer/close", {"count-2000": value, "note": value}),
    ]
    for url, data in requests:
        response = htmx_client.post(url, data=data)
        assert response.status_code < 500, (url, data, response.status_code)


@pytest.mark.parametrize(
    "url",
    [
        f"/register/sale/{HUGE}",
        f"/register/sale/{HUGE}/receipt",
        f"/register/checkin/customer/{HUGE}",
        f"/register/drawer/{HUGE}/report",
        "/register/sales?number=" + HUGE,
        f"/register/customers/{HUGE}",
        f"/register/customers/{HUGE}/identity",
    ],
)
def test_ids_beyond_any_row_are_not_found(htmx_client, sale, url):
    method = htmx_client.post if "checkin/customer" in url else htmx_client.get
    assert method(url).status_code in (200, 404)


def test_a_locked_register_refuses_sale_changes(htmx_client, sale):
    htmx_client.post("/register/lock")
    response = htmx_client.post(f"/register/sale/{sale.id}/scan", data={"tag": "X"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/register/switch"
    assert htmx_client.get(f"/register/sale/{sale.id}").headers.get("HX-Redirect")
