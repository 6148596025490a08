"""Point 6: online orders at the register: accept, pack by scanning, ready, ID, pay, pick up."""

import uuid
from datetime import timedelta

import pytest
from register_support import hx_location, license_text
from sqlalchemy import func, select
from storefront_support import (
    add,
    add_package,
    checkout,
    enable_logs,
    enter,
    open_all_day,
    order_id_from,
    sign_in,
    stock,
)

from extensions import db
from models.compliance.outbox import ComplianceReport
from models.sales.orders import Order
from models.stock.management import ledger_total
from models.stock.packages import Package, Reservation, StockMovement
from support import store_today, years_before


@pytest.fixture
def shop(app, store, make_customer, make_user, login_as):
    """A customer who placed an online order of two items, and a budtender at the register."""
    open_all_day(store)
    birth = years_before(store_today(), 30)
    customer = make_customer(email="pickup@example.com", date_of_birth=birth)
    flower = stock(store, "Blue Dream 3.5g", quantity=5, price_cents=4000)
    shake = stock(store, "House Shake", quantity=None, sold_by="weight", price_cents=800,
                  net_weight_mg=None, thc_mg=None)  # fmt: skip
    add_package(shake, 50_000)
    web = app.test_client()
    enter(web)
    sign_in(web, customer)
    add(web, store, flower, 2)
    add(web, store, shake, 3500)
    order_id = order_id_from(checkout(web, store))
    register = app.test_client()
    register.environ_base["HTTP_HX_REQUEST"] = "true"
    budtender = make_user(store)
    login_as(register, budtender)

    class Shop:
        pass

    s = Shop()
    s.store, s.customer, s.flower, s.shake = store, customer, flower, shake
    s.web, s.register, s.order_id, s.birth = web, register, order_id, birth
    return s


def url(shop, path: str = "") -> str:
    return f"/register/online/{shop.order_id}{path}"


def order_of(shop) -> Order:
    db.session.expire_all()
    return db.session.get(Order, shop.order_id)


def lines(shop):
    order = order_of(shop)
    return {line.name: line for line in order.lines}


def tag_of(product) -> str:
    return product.packages[0].tag


def own_license(shop, **overrides) -> str:
    """Return the barcode text of the ordering customer's own license."""
    fields = {"first": shop.customer.first_name.upper(), "last": shop.customer.last_name.upper(),
              "birth": shop.birth}  # fmt: skip
    return license_text(**{**fields, **overrides})


def accept_and_pack(shop, accepted=False):
    if not accepted:
        assert shop.register.post(url(shop, "/accept")).status_code == 200
    by_name = lines(shop)
    flower, shake = by_name["Blue Dream 3.5g"], by_name["House Shake"]
    response = shop.register.post(
        url(shop, f"/lines/{flower.id}/pack"), data={"tag": tag_of(shop.flower)}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    response = shop.register.post(
        url(shop, f"/lines/{shake.id}/pack"), data={"tag": tag_of(shop.shake), "grams": "3.42"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def test_the_queue_lists_the_order_with_its_pickup_time(shop):
    page = shop.register.get("/register/").get_data(as_text=True)
    assert f"#{shop.order_id} · Casey" in page and "pickup" in page
    assert f'href="/register/online/{shop.order_id}"' in page and ">Accept<" in page


def test_accepting_and_packing_show_on_the_status_page(shop):
    screen = shop.register.get(url(shop)).get_data(as_text=True)
    assert "Accept order" in screen and "Blue Dream 3.5g" in screen
    response = shop.register.post(url(shop, "/accept"))
    assert response.status_code == 200 and "Scan the package" in response.get_data(as_text=True)
    assert order_of(shop).status == "accepted"
    status = shop.web.get(f"/account/orders/{shop.order_id}").get_data(as_text=True)
    # The customer can still cancel until the order is packed.
    assert "The store accepted your order." in status and "Cancel order" in status
    accept_and_pack(shop, accepted=True)
    status = shop.web.get(f"/account/orders/{shop.order_id}").get_data(as_text=True)
    assert "Being packed" in status and "Cancel order" not in status
    assert shop.web.post(f"/account/orders/{shop.order_id}/cancel").status_code == 409


def test_packing_needs_the_right_product_and_a_weight_for_bulk(shop):
    shop.register.post(url(shop, "/accept"))
    by_name = lines(shop)
    flower, shake = by_name["Blue Dream 3.5g"], by_name["House Shake"]
    wrong = shop.register.post(
        url(shop, f"/lines/{flower.id}/pack"), data={"tag": tag_of(shop.shake)}
    )
    assert wrong.status_code == 409
    assert "is House Shake, not Blue Dream 3.5g" in wrong.get_data(as_text=True)
    unknown = shop.register.post(url(shop, f"/lines/{flower.id}/pack"), data={"tag": "NOPE123"})
    assert unknown.status_code in (404, 409, 422)
    no_weight = shop.register.post(
        url(shop, f"/lines/{shake.id}/pack"), data={"tag": tag_of(shop.shake)}
    )
    assert no_weight.status_code == 422 and "enter the weight" in no_weight.get_data(as_text=True)
    heavy = shop.register.post(
        url(shop, f"/lines/{shake.id}/pack"), data={"tag": tag_of(shop.shake), "grams": "4.2"}
    )
    assert heavy.status_code == 422 and "more than the 3.5 g ordered" in heavy.get_data(True)
    assert all(line.package_id is None for line in order_of(shop).lines)


def test_packing_moves_the_holds_onto_the_scanned_packages(shop):
    accept_and_pack(shop)
    order = order_of(shop)
    assert order.status == "packed" and order.packed_at is not None
    by_name = lines(shop)
    assert by_name["Blue Dream 3.5g"].package_tag == tag_of(shop.flower)
    shake = by_name["House Shake"]
    assert (shake.quantity, shake.ordered_quantity) == (3420, 3500)
    assert shake.line_total_cents == 2736  # 3.42 g at $8.00 a gram
    holds = {
        h.package_id: h.quantity
        for h in db.session.scalars(select(Reservation).where(Reservation.released_at.is_(None)))
    }
    assert holds == {shop.flower.packages[0].id: 2, shop.shake.packages[0].id: 3420}


def test_a_line_bigger_than_the_scanned_package_is_split(app, store, make_customer, make_user,
                                                          login_as):  # fmt: skip
    open_all_day(store)
    product = stock(store, "Split Me", quantity=1)
    second = add_package(product, 5, expires_on=store_today() + timedelta(days=400))
    web = app.test_client()
    enter(web)
    sign_in(web, make_customer(email="split@example.com"))
    add(web, store, product, 3)
    order_id = order_id_from(checkout(web, store))
    register = app.test_client()
    login_as(register, make_user(store))
    register.post(f"/register/online/{order_id}/accept")
    line = db.session.get(Order, order_id).lines[0]
    first_tag = product.packages[0].tag if product.packages[0].id != second.id else None
    first_tag = first_tag or product.packages[1].tag
    response = register.post(
        f"/register/online/{order_id}/lines/{line.id}/pack", data={"tag": first_tag}
    )
    assert response.status_code == 303
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    assert sorted((x.quantity, x.package_tag is not None) for x in order.lines) == [
        (1, True),
        (2, False),
    ]
    assert order.status == "accepted"
    rest = next(x for x in order.lines if x.package_id is None)
    register.post(f"/register/online/{order_id}/lines/{rest.id}/pack", data={"tag": second.tag})
    db.session.expire_all()
    assert db.session.get(Order, order_id).status == "packed"


def test_ready_tells_the_customer(shop, caplog):
    enable_logs(caplog, "pistil.mail")
    accept_and_pack(shop)
    response = shop.register.post(url(shop, "/ready"))
    assert response.status_code == 200 and "Check ID" in response.get_data(as_text=True)
    assert order_of(shop).status == "ready"
    assert f"mail order-{shop.order_id}-ready" in caplog.text
    page = shop.web.get(f"/account/orders/{shop.order_id}").get_data(as_text=True)
    assert "waiting at the counter" in page


def test_pickup_checks_the_id_belongs_to_the_customer(shop):
    accept_and_pack(shop)
    shop.register.post(url(shop, "/ready"))
    stranger = own_license(shop, birth=shop.birth - timedelta(days=400))
    response = shop.register.post(url(shop, "/id"), data={"scan": stranger})
    assert response.status_code == 409 and "does not match" in response.get_data(as_text=True)
    expired = {"birth": shop.birth.isoformat(), "id_expires": "2020-01-01",
               "last_name": shop.customer.last_name, "id_number": "X1234567"}  # fmt: skip
    response = shop.register.post(url(shop, "/id"), data=expired)
    assert response.status_code == 409 and "expired" in response.get_data(as_text=True)
    assert order_of(shop).id_checked_at is None
    # Paying before the ID check is refused by the completion itself.
    order = order_of(shop)
    refused = shop.register.post(
        url(shop, "/complete"),
        data={"client_token": uuid.uuid4().hex, "debit": f"{order.total_cents / 100:.2f}"},
    )
    assert refused.status_code == 422 and "Check the customer&#39;s ID" in refused.get_data(True)


def test_pickup_completes_like_a_walk_in_sale(shop):
    accept_and_pack(shop)
    shop.register.post(url(shop, "/ready"))
    response = shop.register.post(url(shop, "/id"), data={"scan": own_license(shop)})
    assert response.status_code == 200 and "Complete pickup" in response.get_data(as_text=True)
    order = order_of(shop)
    assert order.id_checked_at is not None
    token = uuid.uuid4().hex
    pay = {
        "client_token": token,
        "debit": f"{order.total_cents // 100}.{order.total_cents % 100:02d}",
    }
    done = shop.register.post(url(shop, "/complete"), data=pay)
    assert done.status_code == 204, done.get_data(as_text=True)
    assert hx_location(done) == f"/register/sale/{shop.order_id}/receipt"
    again = shop.register.post(url(shop, "/complete"), data=pay)
    assert hx_location(again) == hx_location(done)
    order = order_of(shop)
    assert order.status == "completed" and order.client_token == token
    assert [t.kind for t in order.tenders] == ["debit"]
    # Stock left the shelf through the ledger, the holds are released, the state is told.
    flower = db.session.get(Package, shop.flower.packages[0].id)
    shake = db.session.get(Package, shop.shake.packages[0].id)
    assert (flower.quantity, shake.quantity) == (3, 50_000 - 3420)
    assert ledger_total(flower.id) == 3 and ledger_total(shake.id) == 46_580
    assert (
        db.session.scalar(
            select(func.count()).select_from(Reservation).where(Reservation.released_at.is_(None))
        )
        == 0
    )
    assert (
        db.session.scalar(
            select(func.count()).select_from(StockMovement).where(StockMovement.kind == "sale")
        )
        == 2
    )
    report = db.session.scalars(
        select(ComplianceReport).where(ComplianceReport.order_id == order.id)
    ).one()
    assert report.kind == "sale"
    page = shop.web.get(f"/account/orders/{shop.order_id}").get_data(as_text=True)
    assert "Picked up" in page and "hx-trigger" not in page


def test_removing_a_line_needs_the_customers_agreement(shop):
    shop.register.post(url(shop, "/accept"))
    shake = lines(shop)["House Shake"]
    before = order_of(shop).total_cents
    refused = shop.register.post(
        url(shop, f"/lines/{shake.id}/remove"), data={"reason": "jar empty"}
    )
    assert refused.status_code == 422 and "agreed" in refused.get_data(as_text=True)
    done = shop.register.post(
        url(shop, f"/lines/{shake.id}/remove"), data={"reason": "jar empty", "agreed": "y"}
    )
    assert done.status_code == 200
    order = order_of(shop)
    assert [line.name for line in order.lines] == ["Blue Dream 3.5g"]
    assert order.total_cents < before
    held = db.session.scalars(select(Reservation).where(Reservation.released_at.is_(None))).all()
    assert {h.package_id for h in held} == {shop.flower.packages[0].id}


def test_removing_the_last_line_cancels_the_order(shop):
    for line in list(order_of(shop).lines):
        response = shop.register.post(
            url(shop, f"/lines/{line.id}/remove"), data={"reason": "recall", "agreed": "y"}
        )
    assert response.status_code == 204 and hx_location(response) == "/register/"
    order = order_of(shop)
    assert order.status == "cancelled" and "recall" in order.cancel_reason
    assert (
        db.session.scalar(
            select(func.count()).select_from(Reservation).where(Reservation.released_at.is_(None))
        )
        == 0
    )


def test_other_stores_and_register_sales_are_404(shop, make_store, make_user, login_as, app):
    elsewhere = make_store()
    outsider = app.test_client()
    login_as(outsider, make_user(elsewhere))
    assert outsider.get(url(shop)).status_code == 404
    assert outsider.post(url(shop, "/accept")).status_code == 404
    walk_in = Order(store_id=shop.store.id, channel="register", status="open", tax_lines=[])
    db.session.add(walk_in)
    db.session.commit()
    assert shop.register.get(f"/register/online/{walk_in.id}").status_code == 404
