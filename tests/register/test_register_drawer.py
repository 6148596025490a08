"""The cash drawer: a counted float, drops and paid-outs, a closing count with over/short."""

import uuid

import pytest
from register_support import hx_location, make_package, make_product, open_sale

from extensions import db
from models.audit import AuditEvent
from models.cash_drawer import CashDrawer, DrawerError, counted_total, open_drawer, totals
from models.sales import add_by_tag


@pytest.fixture
def budtender(store, make_user):
    return make_user(store)


@pytest.fixture
def tablet(htmx_client, budtender, login_as):
    login_as(htmx_client, budtender)
    return htmx_client


def open_float(client, amount="150.00", name="Register 1"):
    return client.post("/register/drawer/open", data={"name": name, "float_amount": amount})


def cash_sale(client, store, budtender, given="50"):
    order = open_sale(store, budtender)
    add_by_tag(order, make_package(make_product(store), 3).tag)
    db.session.commit()
    response = client.post(
        f"/register/sale/{order.id}/complete",
        data={"client_token": uuid.uuid4().hex, "cash_given": given},
    )
    assert response.status_code == 204, response.get_data(as_text=True)
    return order


def test_a_day_in_the_drawer(tablet, store, budtender):
    assert "Open a drawer" in tablet.get("/register/drawer").get_data(as_text=True)
    assert open_float(tablet).status_code == 204
    cash_sale(tablet, store, budtender)  # $40.25 taken, $9.75 change
    cash_sale(tablet, store, budtender, given="40.25")
    page = tablet.post(
        "/register/drawer/move", data={"kind": "drop", "amount": "100", "reason": "Safe drop"}
    )
    assert page.status_code == 200
    tablet.post(
        "/register/drawer/move", data={"kind": "paid_out", "amount": "5.50", "reason": "Ice"}
    )
    drawer = db.session.query(CashDrawer).one()
    figures = totals(drawer)
    assert (figures.cash_sales, figures.cash_sales_cents) == (2, 8050)
    assert figures.expected_cents == 15000 + 8050 - 10000 - 550
    body = tablet.get("/register/drawer").get_data(as_text=True)
    assert "$125.00" in body and "Safe drop" in body
    counts = {"count-2000": "5", "count-1000": "2", "count-500": "1", "count-100": "0",
              "count-25": "2"}  # fmt: skip
    closed = tablet.post("/register/drawer/close", data={**counts, "note": "Busy day"})
    assert closed.status_code == 204, closed.get_data(as_text=True)
    assert hx_location(closed) == f"/register/drawer/{drawer.id}/report"
    db.session.expire_all()
    drawer = db.session.get(CashDrawer, drawer.id)
    assert (drawer.status, drawer.counted_cents, drawer.expected_cents) == ("closed", 12550, 12500)
    assert drawer.over_short_cents == 50 and drawer.counts == {"2000": 5, "1000": 2, "500": 1,
                                                               "25": 2}  # fmt: skip
    report = tablet.get(f"/register/drawer/{drawer.id}/report").get_data(as_text=True)
    for text in ("Drawer closing report", "$20 × 5", "Counted", "$125.50", "Over", "$0.50",
                 "Print report"):  # fmt: skip
        assert text in report, text
    actions = {e.action for e in db.session.query(AuditEvent)}
    assert {"drawer.open", "drawer.drop", "drawer.paid_out", "drawer.close"} <= actions


def test_a_drawer_cannot_give_out_more_than_it_holds(tablet):
    open_float(tablet, "20")
    response = tablet.post(
        "/register/drawer/move", data={"kind": "paid_out", "amount": "25", "reason": "Lunch"}
    )
    assert response.status_code == 422
    assert "should only hold $20.00" in response.get_data(as_text=True)


def test_one_open_drawer_per_name(tablet, store, budtender):
    open_float(tablet)
    with pytest.raises(DrawerError, match="already open"):
        open_drawer(store, "register 1", 100, budtender)


def test_a_closed_drawer_takes_no_more_cash(tablet, store, budtender):
    open_float(tablet)
    assert tablet.post("/register/drawer/close", data={"count-10000": "1"}).status_code == 204
    order = open_sale(store, budtender)
    add_by_tag(order, make_package(make_product(store), 3).tag)
    db.session.commit()
    response = tablet.post(
        f"/register/sale/{order.id}/complete",
        data={"client_token": uuid.uuid4().hex, "cash_given": "50"},
    )
    assert response.status_code == 422
    assert "Open a cash drawer" in response.get_data(as_text=True)


def test_a_count_that_is_not_a_number_is_shown_again(tablet):
    open_float(tablet)
    response = tablet.post("/register/drawer/close", data={"count-2000": "five"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Count the $20 again" in body and 'value="five"' in body
    assert db.session.query(CashDrawer).one().status == "open"


def test_another_tablet_can_use_an_open_drawer(app, tablet, store, budtender, login_as):
    open_float(tablet)
    drawer = db.session.query(CashDrawer).one()
    second = app.test_client()
    second.environ_base["HTTP_HX_REQUEST"] = "true"
    login_as(second, budtender)
    assert "Open on another tablet" in second.get("/register/drawer").get_data(as_text=True)
    assert second.post(f"/register/drawer/{drawer.id}/use").status_code == 204
    assert "Expected now" in second.get("/register/drawer").get_data(as_text=True)


def test_another_stores_drawer_is_not_found(tablet, make_store, make_user):
    other = make_store()
    drawer = open_drawer(other, "Theirs", 100, make_user(other))
    db.session.commit()
    assert tablet.post(f"/register/drawer/{drawer.id}/use").status_code == 404
    assert tablet.get(f"/register/drawer/{drawer.id}/report").status_code == 404


def test_counted_total_knows_the_denominations():
    assert counted_total({10000: 1, 25: 3, 1: 4}) == 10079
    with pytest.raises(DrawerError):
        counted_total({300: 1})
