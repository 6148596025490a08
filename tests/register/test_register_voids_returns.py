"""Voids (manager, same business day) and returns (restock or destroy), refunded and reported."""

import uuid
from datetime import timedelta

import pytest
from register_support import hx_location, make_package, make_product, open_sale

from extensions import db
from models.compliance.outbox import ComplianceReport
from models.infra.audit import AuditEvent
from models.sales.amounts import allocate
from models.sales.cash_drawer import CashDrawer, DrawerEntry, open_drawer, totals
from models.sales.completion import Payment, complete_sale
from models.sales.discounts import set_line_discount
from models.sales.errors import SaleError
from models.sales.lines import add_by_tag
from models.sales.orders import Order
from models.sales.returning import ReturnItem, return_items
from models.sales.returns import SaleReturn
from models.sales.voids import void_sale
from models.stock.management import ledger_total
from models.stock.packages import Package, StockMovement


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
    void_sale(sold, "Wrong", manager, drawer=db.session.query(CashDrawer).one())
    db.session.commit()
    with pytest.raises(SaleError, match="Only a completed sale"):
        return_items(sold, [ReturnItem(sold.lines[0], 1, "restock")], "x", budtender,
                     refund_kind="debit")  # fmt: skip


def returned(order_id: int) -> list[int]:
    db.session.expire_all()
    return [line.returned_quantity for line in db.session.get(Order, order_id).lines]


def test_a_big_refund_waits_for_a_managers_pin(htmx_client, sold, store, budtender, manager):
    store.refund_approval_cents = 5000
    db.session.commit()
    jar_line = sold.lines[0]
    fields = {"reason": "Both jars were moldy", "refund_kind": "cash", f"qty-{jar_line.id}": "2"}
    asked = htmx_client.post(f"/register/sale/{sold.id}/return", data=fields)
    assert asked.status_code == 422
    page = asked.get_data(as_text=True)
    assert "$80.50 is above" in page and "$50.00 limit" in page and 'name="manager_pin"' in page
    assert returned(sold.id) == [0, 0]
    # A budtender's own PIN is no manager's approval.
    own = htmx_client.post(
        f"/register/sale/{sold.id}/return",
        data={**fields, "manager_id": budtender.id, "manager_pin": "2468"},
    )
    assert own.status_code == 422 and returned(sold.id) == [0, 0]
    wrong = htmx_client.post(
        f"/register/sale/{sold.id}/return",
        data={**fields, "manager_id": manager.id, "manager_pin": "1111"},
    )
    assert wrong.status_code == 422 and "Wrong PIN" in wrong.get_data(as_text=True)
    done = htmx_client.post(
        f"/register/sale/{sold.id}/return",
        data={**fields, "manager_id": manager.id, "manager_pin": "8642"},
    )
    assert done.status_code == 204, done.get_data(as_text=True)
    assert returned(sold.id) == [2, 0]
    back = db.session.query(SaleReturn).one()
    assert (back.approved_by_id, back.user_id, back.cash_cents) == (manager.id, budtender.id, 8050)
    event = db.session.query(AuditEvent).filter_by(action="sale.return_approved").one()
    assert event.user_id == manager.id and event.details["operator_id"] == budtender.id
    assert event.details["why"] == ["amount"] and event.details["refund_cents"] == 8050


def test_a_return_on_an_old_sale_waits_for_a_managers_pin(htmx_client, sold, store, manager):
    sold.business_date = store.business_date() - timedelta(days=store.refund_approval_days + 1)
    db.session.commit()
    roll_line = sold.lines[1]
    fields = {"reason": "Found it in a drawer", "refund_kind": "cash", f"qty-{roll_line.id}": "1"}
    # The form asks for a manager from the start: the sale's age is known before any amount.
    form = htmx_client.get(f"/register/sale/{sold.id}/return").get_data(as_text=True)
    assert 'name="manager_pin"' in form and "days old" in form
    asked = htmx_client.post(f"/register/sale/{sold.id}/return", data=fields)
    assert asked.status_code == 422 and "days old" in asked.get_data(as_text=True)
    assert returned(sold.id) == [0, 0]
    assert db.session.query(DrawerEntry).filter_by(kind="refund").count() == 0
    done = htmx_client.post(
        f"/register/sale/{sold.id}/return",
        data={**fields, "manager_id": manager.id, "manager_pin": "8642"},
    )
    assert done.status_code == 204 and returned(sold.id) == [0, 1]
    event = db.session.query(AuditEvent).filter_by(action="sale.return_approved").one()
    assert event.details["why"] == ["age"]


def test_a_cash_refund_never_exceeds_the_cash_the_sale_took(htmx_client, store, budtender,
                                                            login_as):  # fmt: skip
    login_as(htmx_client, budtender)
    htmx_client.post("/register/drawer/open", data={"name": "Front", "float_amount": "500"})
    jar = make_package(make_product(store, name="Jar"), 5)
    order = open_sale(store, budtender)
    add_by_tag(order, jar.tag, 2)
    db.session.commit()
    # $80.50: $70.50 on the debit card, $10.00 in cash.
    paid = htmx_client.post(
        f"/register/sale/{order.id}/complete",
        data={"client_token": uuid.uuid4().hex, "debit": "70.50", "cash_given": "10"},
    )
    assert paid.status_code == 204, paid.get_data(as_text=True)
    line = db.session.get(Order, order.id).lines[0]
    fields = {"reason": "Changed their mind", f"qty-{line.id}": "1"}
    cash = htmx_client.post(
        f"/register/sale/{order.id}/return", data={**fields, "refund_kind": "cash"}
    )
    assert cash.status_code == 422
    assert "took $10.00 in cash" in cash.get_data(as_text=True)
    assert db.session.query(DrawerEntry).filter_by(kind="refund").count() == 0
    # Back as paid: to the card first; the card's room runs out on the second jar, whose rest
    # comes from the drawer, up to the sale's $10.00 in cash.
    for _ in range(2):
        split = htmx_client.post(
            f"/register/sale/{order.id}/return", data={**fields, "refund_kind": "paid"}
        )
        assert split.status_code == 204, split.get_data(as_text=True)
    backs = db.session.query(SaleReturn).order_by(SaleReturn.id).all()
    assert [(b.cash_cents, b.card_cents) for b in backs] == [(0, 4025), (1000, 3025)]
    assert db.session.query(DrawerEntry).filter_by(kind="refund").one().amount_cents == 1000
    assert returned(order.id) == [2]


def test_a_lines_refunds_add_up_to_what_it_paid_to_the_cent(store, budtender, manager):
    drawer = open_drawer(store, "Front", 10_000, budtender)
    jar = make_package(make_product(store, name="Jar", price_cents=1000), 5)
    roll = make_package(make_product(store, name="Roll", price_cents=1000), 5)
    order = open_sale(store, budtender)
    add_by_tag(order, jar.tag, 3)
    add_by_tag(order, roll.tag, 1)
    # A cent off the jars leaves $29.99 for three: a third of it is not a whole cent.
    set_line_discount(order, order.lines[0].id, "amount", 1, "Scuffed label", budtender)
    db.session.commit()
    total = order.total_cents
    complete_sale(order, [Payment("cash", total, tendered_cents=total)], uuid.uuid4().hex,
                  budtender, drawer=drawer)  # fmt: skip
    db.session.commit()
    jar_paid = allocate(total, [line.line_total_cents for line in order.lines])[0]
    refunds = []
    for _ in range(3):
        refunds.append(
            return_items(
                order,
                [ReturnItem(order.lines[0], 1, "restock")],
                "One by one",
                manager,
                drawer=drawer,
            ).refund_cents  # fmt: skip
        )
        db.session.commit()
    assert sum(refunds) == jar_paid


def test_a_line_cannot_come_back_twice_in_one_return(sold, budtender):
    jar_line = sold.lines[0]
    twice = [ReturnItem(jar_line, 2, "restock"), ReturnItem(jar_line, 2, "restock")]
    with pytest.raises(SaleError, match="Only 2 of Jar can still come back"):
        return_items(sold, twice, "Sneaky", budtender, refund_kind="debit")
    db.session.rollback()
    assert returned(sold.id) == [0, 0]


def test_a_retried_return_is_recorded_once(htmx_client, sold):
    jar_line = sold.lines[0]
    fields = {"reason": "Wrong strain", "refund_kind": "cash", f"qty-{jar_line.id}": "1",
              "client_token": uuid.uuid4().hex}  # fmt: skip
    first = htmx_client.post(f"/register/sale/{sold.id}/return", data=fields)
    second = htmx_client.post(f"/register/sale/{sold.id}/return", data=fields)
    assert first.status_code == second.status_code == 204
    assert hx_location(first) == hx_location(second)
    assert returned(sold.id) == [1, 0]
    assert db.session.query(DrawerEntry).filter_by(kind="refund").count() == 1
    assert db.session.query(ComplianceReport).filter_by(kind="return").count() == 1


def test_another_stores_sale_cannot_be_returned(htmx_client, sold, make_store, make_user):
    other = make_store()
    theirs = open_sale(other, make_user(other))
    line_fields = {"reason": "x", "refund_kind": "cash", "qty-1": "1"}
    assert htmx_client.get(f"/register/sale/{theirs.id}/return").status_code == 404
    response = htmx_client.post(f"/register/sale/{theirs.id}/return", data=line_fields)
    assert response.status_code == 404


def test_a_cash_refund_prints_a_slip_the_customer_signs(htmx_client, sold, store, manager,
                                                        make_store, make_user):  # fmt: skip
    jar_line = sold.lines[0]
    done = htmx_client.post(
        f"/register/sale/{sold.id}/return",
        data={"reason": "Cracked jar", "refund_kind": "cash", f"qty-{jar_line.id}": "1"},
    )
    back = db.session.query(SaleReturn).one()
    assert hx_location(done) == f"/register/returns/{back.id}/slip"
    slip = htmx_client.get(f"/register/returns/{back.id}/slip").get_data(as_text=True)
    for text in ("Refund slip", f"#{sold.id}", "Jar", "1 back · restocked", "−$40.25", "Cash",
                 "I received <strong>$40.25</strong> in cash", "Customer signature",
                 "Cracked jar", "Print refund slip"):  # fmt: skip
        assert text in slip, text
    # The page prints on its own: a full page load carries the print stylesheet.
    full = htmx_client.get(
        f"/register/returns/{back.id}/slip", headers={"HX-Request": "false"}
    ).get_data(as_text=True)
    assert "<html" in full and "app.css" in full
    other = make_store()
    clerk = make_user(other)
    theirs = SaleReturn(store_id=other.id, order_id=open_sale(other, clerk).id, user_id=clerk.id,
                        business_date=other.business_date(), reason="x", cash_cents=100,
                        card_cents=0)  # fmt: skip
    db.session.add(theirs)
    db.session.commit()
    assert htmx_client.get(f"/register/returns/{theirs.id}/slip").status_code == 404
    assert htmx_client.get(f"/register/returns/{2**31}/slip").status_code == 404


def test_a_void_after_a_return_hands_back_only_what_is_left(htmx_client, store, budtender,
                                                            manager, login_as):  # fmt: skip
    login_as(htmx_client, budtender)
    htmx_client.post("/register/drawer/open", data={"name": "Front", "float_amount": "500"})
    jar = make_package(make_product(store, name="Jar"), 5)
    roll = make_package(make_product(store, name="Roll", price_cents=1000), 5)
    order = open_sale(store, budtender)
    add_by_tag(order, jar.tag, 2)
    add_by_tag(order, roll.tag, 1)
    db.session.commit()
    # $92.00: $80.00 on the debit card, $12.00 in cash.
    htmx_client.post(
        f"/register/sale/{order.id}/complete",
        data={"client_token": uuid.uuid4().hex, "debit": "80", "cash_given": "12"},
    )
    jar_line = db.session.get(Order, order.id).lines[0]
    fields = {"reason": "Moldy", f"qty-{jar_line.id}": "2", "manager_id": manager.id,
              "manager_pin": "8642"}  # fmt: skip
    # The jars paid $80.50: more than the card took, so not all of it goes back to the card.
    to_card = htmx_client.post(
        f"/register/sale/{order.id}/return", data={**fields, "refund_kind": "debit"}
    )
    assert to_card.status_code == 422
    back = htmx_client.post(
        f"/register/sale/{order.id}/return", data={**fields, "refund_kind": "paid"}
    )
    assert back.status_code == 204, back.get_data(as_text=True)
    void = htmx_client.post(
        f"/register/sale/{order.id}/void",
        data={"reason": "Rang up wrong", "manager_id": manager.id, "manager_pin": "8642"},
    )
    assert void.status_code == 204, void.get_data(as_text=True)
    # $80.00 went back to the card and $0.50 in cash: the void hands back only the roll's $11.50.
    cash_back = [
        e.amount_cents
        for e in db.session.query(DrawerEntry).filter_by(kind="refund").order_by(DrawerEntry.id)
    ]
    assert cash_back == [50, 1150]


def test_a_return_shows_on_the_receipt_and_the_sales_list(htmx_client, sold):
    jar_line, roll_line = sold.lines
    htmx_client.post(
        f"/register/sale/{sold.id}/return",
        data={"reason": "Cracked jar", "refund_kind": "cash", f"qty-{jar_line.id}": "1"},
    )
    back = db.session.query(SaleReturn).one()
    receipt = htmx_client.get(f"/register/sale/{sold.id}/receipt").get_data(as_text=True)
    for text in (f"Return #{back.id}", "Jar × 1", "−$40.25", "Refund · cash", "Net paid",
                 "$51.75", f"/register/returns/{back.id}/slip"):  # fmt: skip
        assert text in receipt, text
    listed = htmx_client.get("/register/sales").get_data(as_text=True)
    assert "Partly returned" in listed and "$51.75" in listed
    assert f"/register/returns/{back.id}/slip" in listed  # today's returns, to reprint a slip
    htmx_client.post(
        f"/register/sale/{sold.id}/return",
        data={"reason": "All of it", "refund_kind": "cash", f"qty-{jar_line.id}": "1",
              f"qty-{roll_line.id}": "1"},
    )  # fmt: skip
    listed = htmx_client.get("/register/sales").get_data(as_text=True)
    assert ">Returned<" in listed and "Partly returned" not in listed and "$0.00" in listed


def test_revenue_today_is_net_of_refunds(app, htmx_client, sold, store, manager, login_as):
    jar_line = sold.lines[0]
    htmx_client.post(
        f"/register/sale/{sold.id}/return",
        data={"reason": "Cracked jar", "refund_kind": "cash", f"qty-{jar_line.id}": "1"},
    )
    from models.sales.dashboard import summary

    figures = summary(store)
    assert (figures.sales_today, figures.revenue_today_cents) == (1, 9200 - 4025)
    assert figures.refunds_today_cents == 4025
    home = htmx_client.get("/register/").get_data(as_text=True)
    assert "$51.75" in home and "$92.00" not in home
    office = app.test_client()
    login_as(office, manager)
    dashboard = office.get("/manage/").get_data(as_text=True)
    assert "$51.75" in dashboard and "after $40.25 in refunds" in dashboard


def test_a_voided_sale_counts_neither_its_sale_nor_its_refunds(htmx_client, sold, store,
                                                               manager):  # fmt: skip
    from models.sales.dashboard import summary

    jar_line = sold.lines[0]
    htmx_client.post(
        f"/register/sale/{sold.id}/return",
        data={"reason": "Cracked jar", "refund_kind": "cash", f"qty-{jar_line.id}": "1"},
    )
    htmx_client.post(
        f"/register/sale/{sold.id}/void",
        data={"reason": "Wrong customer", "manager_id": manager.id, "manager_pin": "8642"},
    )
    figures = summary(store)
    assert (figures.sales_today, figures.revenue_today_cents, figures.refunds_today_cents) == (
        0,
        0,
        0,
    )
