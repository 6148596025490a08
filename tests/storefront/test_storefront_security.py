"""Every storefront and online-order change needs the CSRF token; nobody reaches others' rows."""

import pytest
from storefront_support import enter, stock

from extensions import db
from models.sales.orders import Order

POSTS = [
    "/age",
    "/stores/{code}/cart/add",
    "/stores/{code}/cart/update",
    "/stores/{code}/checkout",
    "/account/orders/{order}/cancel",
    "/account/medical-card",
    "/account/medical-card/remove",
    "/account/password/forgot",
    "/account/password/reset/some-token",
    "/register/online/{order}/accept",
    "/register/online/{order}/lines/1/pack",
    "/register/online/{order}/lines/1/unpack",
    "/register/online/{order}/lines/1/remove",
    "/register/online/{order}/ready",
    "/register/online/{order}/id",
    "/register/online/{order}/complete",
]


@pytest.mark.parametrize("path", POSTS)
def test_a_post_without_the_csrf_token_is_refused(client, store, path):
    order = Order(store_id=store.id, channel="web", status="placed", tax_lines=[])
    db.session.add(order)
    db.session.commit()
    url = path.format(code=store.code, order=order.id)
    response = client.post(url, data={"answer": "yes"}, csrf=False)
    assert response.status_code == 400, (url, response.status_code)
    assert "This form has expired" in response.get_data(as_text=True)


def test_pages_answer_without_errors_for_a_visitor(client, store):
    product = stock(store, "Visible")
    enter(client)
    for url in (
        "/",
        f"/stores/{store.code}",
        f"/stores/{store.code}/products/{product.id}",
        f"/stores/{store.code}/cart",
        "/account/login",
        "/account/signup",
        "/account/password/forgot",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store"
