"""The cash drawer: a counted float, drops and paid-outs, a closing count with over/short."""

import uuid

import pytest
from register_support import hx_location, make_package, make_product, open_sale

from extensions import db
from models.infra.audit import AuditEvent
from models.sales.cash_drawer import CashDrawer, DrawerError, counted_total, open_drawer, totals
from models.sales.lines import add_by_tag


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
    # A blind count: the drawer screen never shows what the drawer should hold.
    assert "Safe drop" in body and "$125.00" not in body and "$80.50" not in body
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
    counted_by = f"Counted by</dt><dd>{budtender.name}"
    for text in ("Drawer closing report", "$20 × 5", "Counted", "$125.50", "Expected", "$125.00",
                 "Over", "$0.50", counted_by, "Print report"):  # fmt: skip
        assert text in report, text
    actions = {e.action for e in db.session.query(AuditEvent)}
    assert {"drawer.open", "drawer.drop", "drawer.paid_out", "drawer.close"} <= actions


def test_a_drawer_cannot_give_out_more_than_it_holds(tablet, store, budtender):
    open_float(tablet, "20")
    cash_sale(tablet, store, budtender)  # $40.25 in: the drawer should hold $60.25
    response = tablet.post(
        "/register/drawer/move", data={"kind": "paid_out", "amount": "75", "reason": "Lunch"}
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    # The refusal must not tell a blind counter what the drawer should hold.
    assert "does not hold enough cash" in body and "$60.25" not in body
    event = db.session.query(AuditEvent).filter_by(action="drawer.overdraw_refused").one()
    assert event.user_id == budtender.id and event.details["amount_cents"] == 7500


def test_one_open_drawer_per_name(tablet, store, budtender):
    open_float(tablet)
    with pytest.raises(DrawerError, match="already open"):
        open_drawer(store, "register 1", 100, budtender)


def test_a_closed_drawer_takes_no_more_cash(tablet, store, budtender):
    open_float(tablet)
    closed = tablet.post("/register/drawer/close", data={"count-10000": "1", "count-5000": "1"})
    assert closed.status_code == 204
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
    assert "Close with a count" in second.get("/register/drawer").get_data(as_text=True)


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


def count_of(cents: int) -> dict[str, str]:
    """Return the close form's fields for a count that adds up to cents (notes and pennies)."""
    return {"count-10000": str(cents // 10000), "count-1": str(cents % 10000)}


def drawer_row() -> CashDrawer:
    db.session.expire_all()
    return db.session.query(CashDrawer).one()


@pytest.fixture
def manager(store, make_user):
    return make_user(store, role="manager", pin="8642")


def test_the_drawer_screen_and_report_hide_the_expected_cash_until_the_count(
    tablet, store, budtender
):
    open_float(tablet, "150")
    cash_sale(tablet, store, budtender)  # $40.25: the drawer should hold $190.25
    drawer = drawer_row()
    page = tablet.get("/register/drawer").get_data(as_text=True)
    assert "$190.25" not in page and "$40.25" not in page and "Expected" not in page
    early = tablet.get(f"/register/drawer/{drawer.id}/report")
    assert early.status_code == 303 and early.headers["Location"].endswith("/register/drawer")


def test_an_over_short_within_the_allowance_closes_and_records_the_difference(
    tablet, store, budtender
):
    open_float(tablet, "150")
    cash_sale(tablet, store, budtender)
    closed = tablet.post("/register/drawer/close", data=count_of(19025 - 500))
    assert closed.status_code == 204, closed.get_data(as_text=True)
    drawer = drawer_row()
    assert (drawer.status, drawer.counted_cents, drawer.expected_cents) == ("closed", 18525, 19025)
    assert drawer.over_short_cents == -500 and drawer.approved_by_id is None
    assert drawer.counted_by_id == budtender.id
    report = tablet.get(hx_location(closed)).get_data(as_text=True)
    assert "Short" in report and "-$5.00" in report and "$190.25" in report


def test_a_short_beyond_the_allowance_waits_for_a_manager_and_a_reason(
    tablet, store, budtender, manager
):
    open_float(tablet, "150")
    cash_sale(tablet, store, budtender)
    counted = tablet.post("/register/drawer/close", data=count_of(19025 - 2000))
    assert counted.status_code == 200, counted.get_data(as_text=True)
    page = counted.get_data(as_text=True)
    # Only now, after the count, the expected amount and the difference appear.
    assert "$190.25" in page and "-$20.00" in page and "Manager approves" in page
    drawer = drawer_row()
    assert (drawer.status, drawer.counted_cents, drawer.over_short_cents) == ("open", 17025, -2000)
    assert not drawer.is_open and drawer.closed_at is None
    # A counted drawer takes no more cash while it waits.
    order = open_sale(store, budtender)
    add_by_tag(order, make_package(make_product(store), 3).tag)
    db.session.commit()
    refused_sale = tablet.post(
        f"/register/sale/{order.id}/complete",
        data={"client_token": uuid.uuid4().hex, "cash_given": "50"},
    )
    assert refused_sale.status_code == 422
    approve = {"drawer_id": drawer.id, "manager_id": manager.id, "manager_pin": "8642"}
    no_reason = tablet.post("/register/drawer/approve", data={**approve, "reason": ""})
    assert no_reason.status_code == 422 and "Give a reason" in no_reason.get_data(as_text=True)
    wrong_pin = tablet.post(
        "/register/drawer/approve", data={**approve, "manager_pin": "1111", "reason": "Miscount"}
    )
    assert wrong_pin.status_code == 422 and "Wrong PIN" in wrong_pin.get_data(as_text=True)
    assert drawer_row().status == "open"
    done = tablet.post(
        "/register/drawer/approve", data={**approve, "reason": "Gave $20 too much change"}
    )
    assert done.status_code == 204, done.get_data(as_text=True)
    drawer = drawer_row()
    assert (drawer.status, drawer.approved_by_id) == ("closed", manager.id)
    assert drawer.approval_reason == "Gave $20 too much change"
    assert drawer.counted_cents == 17025 and drawer.over_short_cents == -2000
    event = db.session.query(AuditEvent).filter_by(action="drawer.close_approved").one()
    assert event.user_id == manager.id and event.reason == "Gave $20 too much change"
    assert event.details["counted_by"] == budtender.id
    assert event.details["over_short_cents"] == -2000
    report = tablet.get(hx_location(done)).get_data(as_text=True)
    for text in ("$170.25", "$190.25", "-$20.00", f"Counted by</dt><dd>{budtender.name}",
                 f"Approved by</dt><dd>{manager.name}", "Gave $20 too much change"):  # fmt: skip
        assert text in report, text


def test_nobody_approves_their_own_over_short(app, store, budtender, manager, login_as):
    own = app.test_client()
    own.environ_base["HTTP_HX_REQUEST"] = "true"
    login_as(own, budtender)
    open_float(own, "100")
    own.post("/register/drawer/close", data=count_of(7000))
    drawer = drawer_row()
    # A budtender cannot approve: only a manager's PIN counts.
    itself = own.post(
        "/register/drawer/approve",
        data={"drawer_id": drawer.id, "manager_id": budtender.id, "manager_pin": "2468",
              "reason": "Fine"},
    )  # fmt: skip
    assert itself.status_code == 422 and drawer_row().status == "open"
    # A manager who counted a drawer short cannot approve their own count either.
    boss = app.test_client()
    boss.environ_base["HTTP_HX_REQUEST"] = "true"
    login_as(boss, manager)
    open_float(boss, "100", name="Register 2")
    boss.post("/register/drawer/close", data=count_of(9000))
    theirs = db.session.query(CashDrawer).filter_by(name="Register 2").one()
    response = boss.post(
        "/register/drawer/approve",
        data={"drawer_id": theirs.id, "manager_id": manager.id, "manager_pin": "8642",
              "reason": "Fine"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "someone other than" in response.get_data(as_text=True).lower()
    db.session.expire_all()
    assert db.session.get(CashDrawer, theirs.id).status == "open"


def test_a_count_cannot_change_once_the_expected_cash_was_shown(tablet, manager):
    open_float(tablet, "100")
    tablet.post("/register/drawer/close", data=count_of(8000))
    # Having seen the expected $100.00, the counter tries to "recount" to match it.
    again = tablet.post("/register/drawer/close", data=count_of(10000))
    assert again.status_code == 409
    assert "already counted" in again.get_data(as_text=True)
    drawer = drawer_row()
    assert (drawer.counted_cents, drawer.over_short_cents) == (8000, -2000)
    # The same count sent again (a retry) just shows the approval step once more.
    retry = tablet.post("/register/drawer/close", data=count_of(8000))
    assert retry.status_code == 200 and "Manager approves" in retry.get_data(as_text=True)


def test_a_close_retried_twice_closes_once(tablet):
    open_float(tablet, "100")
    drawer = drawer_row()
    fields = {**count_of(10000), "drawer_id": drawer.id}
    first = tablet.post("/register/drawer/close", data=fields)
    second = tablet.post("/register/drawer/close", data={**count_of(9000), "drawer_id": drawer.id})
    assert first.status_code == second.status_code == 204
    assert hx_location(second) == hx_location(first) == f"/register/drawer/{drawer.id}/report"
    assert drawer_row().counted_cents == 10000
    closes = db.session.query(AuditEvent).filter_by(action="drawer.close").count()
    assert closes == 1


def test_a_manager_on_another_tablet_approves_a_counted_drawer(
    app, tablet, store, manager, login_as
):
    open_float(tablet, "100")
    tablet.post("/register/drawer/close", data=count_of(9000))
    drawer = drawer_row()
    # The budtender leaves it: the tablet is free, the drawer keeps its count and waits.
    assert tablet.post("/register/drawer/leave").status_code == 204
    assert "Open a drawer" in tablet.get("/register/drawer").get_data(as_text=True)
    assert drawer_row().counted_cents == 9000
    office = app.test_client()
    office.environ_base["HTTP_HX_REQUEST"] = "true"
    login_as(office, manager)
    page = office.get("/register/drawer").get_data(as_text=True)
    assert "Waiting for a manager" in page
    assert office.post(f"/register/drawer/{drawer.id}/use").status_code == 204
    shown = office.get("/register/drawer").get_data(as_text=True)
    assert "Manager approves" in shown and "-$10.00" in shown
    done = office.post(
        "/register/drawer/approve",
        data={"drawer_id": drawer.id, "manager_id": manager.id, "manager_pin": "8642",
              "reason": "Counted with the budtender"},
    )  # fmt: skip
    assert done.status_code == 204 and drawer_row().status == "closed"


def test_another_stores_drawer_cannot_be_approved(tablet, make_store, make_user, manager):
    other = make_store()
    theirs = open_drawer(other, "Theirs", 100, make_user(other))
    db.session.commit()
    response = tablet.post(
        "/register/drawer/approve",
        data={"drawer_id": theirs.id, "manager_id": manager.id, "manager_pin": "8642",
              "reason": "x"},
    )  # fmt: skip
    assert response.status_code == 404
