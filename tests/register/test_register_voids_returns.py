"""Voids (manager, same business day) and returns (restock or destroy), refunded and reported."""

import uuid
from datetime import timedelta

import pytest
from register_support import hx_location, make_package, make_product, open_sale

from extensions import db
from models.audit import AuditEvent
from models.cash_drawer import CashDrawer, DrawerEntry, totals
from models.compliance import ComplianceReport
from models.inventory import Package, StockMovement, ledger_total
from models.orders import Order
from models.sales import SaleError, add_by_tag, void_sale


@pytest.fixture
def manager(store, make_user):
    return make_user(store, role="manager", pin="8642")


@pytest.fixture
def budtender(store, make_user):
    return make_user(store)


@pytest.fixture
def sold(htmx_client, store, budtender, login_as):
    """A completed cash sale of 2 jars and 1 pre-roll from a drawer opened with $200."""
    login_as(htmx_client, budtender)
    htmx_client.post("/register/drawer/open", data={"name": "Front", "float_amount": "200"})
    jar = make_package(make_product(store, name="Jar"), 5)
    roll = make_package(
        make_product(store, name="Roll", category="preroll", limit_category="preroll",
                     price_cents=1000, net_weight_mg=1000),
        5,
    )  # fmt: skip
    order = open_sale(store, budtender)
    add_by_tag(order, jar.tag, 2)
    add_by_tag(order, roll.tag, 1)
    db.session.commit()
    response = htmx_client.post(
        f"/register/sale/{order.id}/complete",
        data={"client_token": uuid.uuid4().hex, "cash_given": "100"},
    )
    assert response.status_code == 204, response.get_data(as_text=True)
    return db.session.get(Order, order.id)


def quantities(*packages):
    db.session.expire_all()
    return [db.session.get(Package, p.package_id).quantity for p in packages]


def test_a_manager_voids_a_sale_the_same_day(htmx_client, sold, manager):
    assert sold.total_cents == 9200  # (2 × $35 + $10) + 15%
    response = htmx_client.post(
        f"/register/sale/{sold.id}/void",
        data={"reason": "Rang up the wrong jar", "manager_id": manager.id, "manager_pin": "8642"},
    )
    assert response.status_code == 204, response.get_data(as_text=True)
    assert hx_location(response) == f"/register/sale/{sold.id}/receipt"
    order = db.session.get(Order, sold.id)
    assert (order.status, order.voided_by_id, order.void_reason) == (
        "voided",
        manager.id,
        "Rang up the wrong jar",
    )
    assert quantities(*order.lines) == [5, 5]
    voids = db.session.query(StockMovement).filter_by(kind="void", order_id=order.id).all()
    assert sorted(m.delta for m in voids) == [1, 2]
    assert all(ledger_total(line.package_id) == 5 for line in order.lines)
    report = db.session.query(ComplianceReport).filter_by(order_id=order.id, kind="void").one()
    assert report.payload["reason"] == "Rang up the wrong jar"
    refund = db.session.query(DrawerEntry).filter_by(kind="refund", order_id=order.id).one()
    assert refund.amount_cents == 9200
    assert totals(db.session.query(CashDrawer).one()).expected_cents == 20000
    event = db.session.query(AuditEvent).filter_by(action="sale.void").one()
    assert event.user_id == manager.id and event.reason == "Rang up the wrong jar"
    receipt = htmx_client.get(f"/register/sale/{order.id}/receipt").get_data(as_text=True)
    assert "VOID" in receipt


def test_a_void_needs_a_reason_and_a_manager(htmx_client, sold, manager):
    no_reason = htmx_client.post(f"/register/sale/{sold.id}/void", data={"reason": ""})
    assert no_reason.status_code == 422
    assert "Give a reason for the void" in no_reason.get_data(as_text=True)
    no_manager = htmx_client.post(f"/register/sale/{sold.id}/void", data={"reason": "Oops"})
    assert no_manager.status_code == 422
    assert "Only a manager can void a sale" in no_manager.get_data(as_text=True)
    wrong_pin = htmx_client.post(
        f"/register/sale/{sold.id}/void",
        data={"reason": "Oops", "manager_id": manager.id, "manager_pin": "1111"},
    )
    assert wrong_pin.status_code == 422 and "Wrong PIN" in wrong_pin.get_data(as_text=True)
    assert db.session.get(Order, sold.id).status == "completed"


def test_a_sale_from_an_earlier_business_day_cannot_be_voided(sold, manager):
    sold.business_date = sold.business_date - timedelta(days=1)
    db.session.commit()
    with pytest.raises(SaleError, match="business day it was made"):
        void_sale(sold, "Too late", manager)
    db.session.rollback()
    assert db.session.get(Order, sold.id).status == "completed"


def test_a_sale_is_voided_only_once(sold, manager, store):
    drawer = db.session.query(CashDrawer).one()
    void_sale(sold, "First", manager, drawer=drawer)
    db.session.commit()
    with pytest.raises(SaleError, match="already voided"):
        void_sale(sold, "Second", manager, drawer=drawer)


def test_a_return_restocks_one_line_and_destroys_another(htmx_client, sold):
    jar_line, roll_line = sold.lines
    page = htmx_client.get(f"/register/sale/{sold.id}/return")
    assert page.status_code == 200 and "Coming back" in page.get_data(as_text=True)
    response = htmx_client.post(
        f"/register/sale/{sold.id}/return",
        data={
            "reason": "Customer changed their mind",
            "refund_kind": "cash",
            f"qty-{jar_line.id}": "1",
            f"disposition-{jar_line.id}": "restock",
            f"qty-{roll_line.id}": "1",
            f"disposition-{roll_line.id}": "destroy",
        },
    )
    assert response.status_code == 204, response.get_data(as_text=True)
    order = db.session.get(Order, sold.id)
    assert [line.returned_quantity for line in order.lines] == [1, 1]
    assert quantities(*order.lines) == [4, 4]
    kinds = [
        (m.kind, m.delta)
        for m in db.session.query(StockMovement)
        .filter(StockMovement.order_id == order.id, StockMovement.kind != "sale")
        .order_by(StockMovement.id)
    ]
    assert kinds == [("return", 1), ("return", 1), ("destroy", -1)]
    assert all(ledger_total(line.package_id) == 4 for line in order.lines)
    reports = {r.kind for r in db.session.query(ComplianceReport)}
    assert reports == {"sale", "return", "adjustment"}
    returned = db.session.query(ComplianceReport).filter_by(kind="return").one()
    assert {line["quantity"] for line in returned.payload["returned"]} == {1}
    refund = db.session.query(DrawerEntry).filter_by(kind="refund").one()
    # One $35 jar and one $10 roll, with their share of the 15% tax.
    assert refund.amount_cents == 5175
    receipt = htmx_client.get(f"/register/sale/{sold.id}/receipt").get_data(as_text=True)
    assert "Return recorded: refund $51.75 in cash." in receipt and "Returned 1" in receipt


def test_more_than_was_sold_cannot_come_back(htmx_client, sold):
    jar_line = sold.lines[0]
    response = htmx_client.post(
        f"/register/sale/{sold.id}/return",
        data={"reason": "x", "refund_kind": "debit", f"qty-{jar_line.id}": "3"},
    )
    assert response.status_code == 422
    assert "Only 2 of Jar can still come back" in response.get_data(as_text=True)
    assert db.session.query(ComplianceReport).filter_by(kind="return").count() == 0


def test_a_return_needs_a_reason_and_an_item(htmx_client, sold):
    nothing = htmx_client.post(
        f"/register/sale/{sold.id}/return", data={"reason": "x", "refund_kind": "debit"}
    )
    assert nothing.status_code == 422
    assert "Choose at least one item" in nothing.get_data(as_text=True)
    no_reason = htmx_client.post(f"/register/sale/{sold.id}/return", data={"refund_kind": "debit"})
    assert no_reason.status_code == 422


def test_a_voided_sale_takes_no_returns(sold, manager, budtender):
    from models.sales import ReturnItem, return_items

    void_sale(sold, "Wrong", manager, drawer=db.session.query(CashDrawer).one())
    db.session.commit()
    with pytest.raises(SaleError, match="Only a completed sale"):
        return_items(sold, [ReturnItem(sold.lines[0], 1, "restock")], "x", budtender,
                     refund_kind="debit")  # fmt: skip
