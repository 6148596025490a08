"""Payment and completion: one transaction, tenders and change, the outbox, the receipt."""

import uuid
from datetime import timedelta

import pytest
from register_support import hx_location, make_package, make_product, open_sale

from extensions import db
from models.base import utcnow
from models.compliance.outbox import ComplianceReport
from models.sales.completion import Payment, complete_sale, plan_payments
from models.sales.errors import SaleError, StockConflict
from models.sales.lines import add_by_tag
from models.sales.orders import Order, OrderLine, Tender
from models.stock.management import ledger_total
from models.stock.packages import Package, Reservation, StockMovement


@pytest.fixture
def budtender(store, make_user):
    return make_user(store)


@pytest.fixture
def till(htmx_client, budtender, login_as):
    """A signed-in budtender whose tablet has an open drawer with a $200 float."""
    login_as(htmx_client, budtender)
    response = htmx_client.post(
        "/register/drawer/open", data={"name": "Register 1", "float_amount": "200"}
    )
    assert response.status_code == 204, response.get_data(as_text=True)
    return htmx_client


def sale_with(store, budtender, *packages_and_quantities, customer=None):
    order = open_sale(store, budtender, customer)
    for package, quantity in packages_and_quantities:
        add_by_tag(order, package.tag, quantity)
    db.session.commit()
    return order


def pay(client, order, token=None, **fields):
    data = {"client_token": token or uuid.uuid4().hex, **fields}
    return client.post(f"/register/sale/{order.id}/complete", data=data)


def test_cash_sale_completes_in_one_go(till, store, budtender):
    jar = make_package(make_product(store, name="Blue Dream 3.5g"), 5)
    order = sale_with(store, budtender, (jar, 2))
    assert order.total_cents == 8050  # 2 × $35 + 15% CO retail marijuana sales tax
    response = pay(till, order, cash_given="100")
    assert response.status_code == 204, response.get_data(as_text=True)
    assert hx_location(response) == f"/register/sale/{order.id}/receipt"
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert (order.status, order.budtender_id) == ("completed", budtender.id)
    assert order.business_date == store.business_date(order.completed_at)
    (tender,) = order.tenders
    assert (tender.kind, tender.amount_cents, tender.tendered_cents, tender.change_cents) == (
        "cash",
        8050,
        10000,
        1950,
    )
    assert tender.drawer_id is not None
    package = db.session.get(Package, jar.id)
    assert package.quantity == 3 and ledger_total(package.id) == 3
    (movement,) = db.session.query(StockMovement).filter_by(kind="sale").all()
    assert (movement.delta, movement.quantity_after, movement.order_id) == (-2, 3, order.id)
    report = db.session.query(ComplianceReport).filter_by(order_id=order.id, kind="sale").one()
    assert report.payload["lines"][0]["tag"] == jar.tag


def test_the_receipt_shows_taxes_tenders_change_tags_and_report_status(till, store, budtender):
    jar = make_package(make_product(store, name="Blue Dream 3.5g"), 5)
    order = sale_with(store, budtender, (jar, 1))
    pay(till, order, cash_given="50")
    page = till.get(f"/register/sale/{order.id}/receipt")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    for expected in (
        store.license_number,
        budtender.name,
        "Blue Dream 3.5g",
        f"Pkg {jar.tag}",
        "CO retail marijuana sales tax 15%",
        "$5.25",
        "$40.25",
        "Cash",
        "$50.00",
        "Change",
        "$9.75",
        'id="report-status"',
    ):
        assert expected in body, expected
    status = till.get(f"/register/sale/{order.id}/report-status")
    assert status.status_code == 200
    assert status.get_data(as_text=True).lstrip().startswith('<p id="report-status"')


def test_a_queued_report_polls_and_a_settled_one_stops(till, store, budtender):
    jar = make_package(make_product(store), 5)
    order = sale_with(store, budtender, (jar, 1))
    pay(till, order, cash_given="50")
    report = db.session.query(ComplianceReport).filter_by(order_id=order.id).one()
    report.status = "pending"
    db.session.commit()
    queued = till.get(f"/register/sale/{order.id}/report-status").get_data(as_text=True)
    assert "Queued for the state" in queued and 'hx-trigger="every 2s"' in queued
    report.status = "needs_attention"
    db.session.commit()
    settled = till.get(f"/register/sale/{order.id}/report-status").get_data(as_text=True)
    assert "Needs attention" in settled and "hx-trigger" not in settled
    report.status = "sent"
    db.session.commit()
    # The test store reports in a dry run: recorded, never "reported".
    assert "Recorded (dry run)" in till.get(f"/register/sale/{order.id}/report-status").get_data(
        as_text=True
    )


def test_a_double_press_or_a_retry_gives_one_sale_and_the_same_receipt(till, store, budtender):
    jar = make_package(make_product(store), 5)
    order = sale_with(store, budtender, (jar, 1))
    token = uuid.uuid4().hex
    first = pay(till, order, token, cash_given="50")
    second = pay(till, order, token, cash_given="50")
    assert first.status_code == second.status_code == 204
    assert hx_location(first) == hx_location(second)
    assert db.session.query(Tender).count() == 1
    assert db.session.query(ComplianceReport).filter_by(kind="sale").count() == 1
    assert db.session.get(Package, jar.id).quantity == 4
    other = pay(till, order, cash_given="50")
    assert other.status_code == 409
    assert "already completed" in other.get_data(as_text=True)


def test_debit_and_split_tenders(till, store, budtender):
    jar = make_package(make_product(store), 5)
    debit_only = sale_with(store, budtender, (jar, 1))
    assert pay(till, debit_only, debit="40.25", debit_reference="A1B2").status_code == 204
    (tender,) = db.session.get(Order, debit_only.id).tenders
    assert (tender.kind, tender.amount_cents, tender.reference, tender.drawer_id) == (
        "debit",
        4025,
        "A1B2",
        None,
    )
    split = sale_with(store, budtender, (jar, 2))
    assert pay(till, split, debit="50", cash_given="40").status_code == 204
    tenders = db.session.get(Order, split.id).tenders
    assert [(t.kind, t.amount_cents, t.change_cents) for t in tenders] == [
        ("debit", 5000, 0),
        ("cash", 3050, 950),
    ]


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"cash_given": "20"}, "Cash given $20.00 is less than the $40.25 due"),
        ({}, "Enter the cash handed over ($40.25 due)"),
        ({"debit": "50"}, "Debit $50.00 is more than the $40.25 due"),
        ({"debit": "10"}, "$30.25 is left after debit"),
        ({"cash_given": "abc"}, "is not an amount of money"),
    ],
)
def test_payments_that_do_not_cover_the_sale_are_refused(till, store, budtender, fields, message):
    jar = make_package(make_product(store), 5)
    order = sale_with(store, budtender, (jar, 1))
    response = pay(till, order, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.get(Order, order.id).status == "open"
    assert db.session.get(Package, jar.id).quantity == 5


def test_no_cash_without_an_open_drawer(htmx_client, store, budtender, login_as):
    login_as(htmx_client, budtender)
    jar = make_package(make_product(store), 5)
    order = sale_with(store, budtender, (jar, 1))
    page = htmx_client.get(f"/register/sale/{order.id}").get_data(as_text=True)
    assert "No cash drawer is open on this tablet" in page
    response = pay(htmx_client, order, cash_given="50")
    assert response.status_code == 422
    assert "Open a cash drawer on this register before taking cash" in response.get_data(
        as_text=True
    )
    assert pay(htmx_client, order, debit="40.25").status_code == 204


def test_stock_sold_elsewhere_since_the_scan_is_caught_at_completion(till, store, budtender):
    jar = make_package(make_product(store), 1)
    first = sale_with(store, budtender, (jar, 1))
    second = sale_with(store, budtender, (jar, 1))
    assert pay(till, first, cash_given="50").status_code == 204
    response = pay(till, second, cash_given="50")
    assert response.status_code == 409
    assert "Out of stock" in response.get_data(as_text=True)
    assert db.session.get(Order, second.id).status == "open"
    assert db.session.get(Package, jar.id).quantity == 0


def test_two_lines_on_one_package_are_summed_before_the_check(store, budtender):
    product = make_product(store)
    jar = make_package(product, 3)
    order = open_sale(store, budtender)
    for _ in range(2):
        order.lines.append(
            OrderLine(
                product_id=product.id,
                package_id=jar.id,
                name=product.name,
                brand="b",
                sku="s",
                category="flower",
                package_tag=jar.tag,
                quantity=2,
                unit="each",
                unit_price_cents=100,
            )  # fmt: skip
        )
    db.session.commit()
    with pytest.raises(StockConflict, match="this sale needs 4"):
        complete_sale(order, [Payment("debit", 460)], uuid.uuid4().hex, budtender)
    db.session.rollback()
    assert db.session.get(Package, jar.id).quantity == 3


def test_a_ready_web_order_completes_and_releases_its_holds(store, budtender, make_customer):
    jar = make_package(make_product(store), 3)
    customer = make_customer()
    web = Order(
        store_id=store.id, channel="web", status="ready", customer_id=customer.id,
        id_checked_at=utcnow(), tax_lines=[],
    )  # fmt: skip
    web.lines.append(
        OrderLine(
            product_id=jar.product_id,
            package_id=jar.id,
            name="Jar",
            brand="b",
            sku="s",
            category="flower",
            limit_category="flower",
            package_tag=jar.tag,
            quantity=3,
            unit="each",
            unit_price_cents=3500,
            net_weight_mg=3500,
        )  # fmt: skip
    )
    db.session.add(web)
    db.session.flush()
    hold = Reservation(
        order_id=web.id, package_id=jar.id, quantity=3, expires_at=utcnow() + timedelta(hours=1)
    )
    db.session.add(hold)
    db.session.commit()
    web = db.session.get(Order, web.id)
    from models.sales.totals import recompute

    total = recompute(web).order.total_cents
    done = complete_sale(web, [Payment("debit", total)], uuid.uuid4().hex, budtender)
    db.session.commit()
    assert done.status == "completed" and done.channel == "web"
    assert db.session.get(Reservation, hold.id).released_at is not None
    assert db.session.get(Package, jar.id).quantity == 0


def test_an_order_without_an_id_check_cannot_complete(store, budtender):
    jar = make_package(make_product(store), 3)
    order = sale_with(store, budtender, (jar, 1))
    order.id_checked_at = None
    db.session.commit()
    with pytest.raises(SaleError, match="Check the customer's ID"):
        complete_sale(order, [Payment("debit", order.total_cents)], "tok", budtender)


def test_an_empty_sale_cannot_complete(store, budtender):
    order = open_sale(store, budtender)
    with pytest.raises(SaleError, match="Add at least one item"):
        complete_sale(order, [], "tok-empty", budtender)


def test_the_current_budtender_after_a_switch_is_on_the_sale(till, store, budtender, make_user):
    other = make_user(store, pin="7777")
    till.post("/register/switch", data={"user_id": other.id, "pin": "7777"})
    jar = make_package(make_product(store), 5)
    order = sale_with(store, budtender, (jar, 1))
    assert pay(till, order, debit="40.25").status_code == 204
    assert db.session.get(Order, order.id).budtender_id == other.id


def test_plan_payments_is_exact():
    assert plan_payments(4025, cash_given_cents=4025) == [Payment("cash", 4025, 4025)]
    assert plan_payments(4025, cash_given_cents=None, debit_cents=4025) == [Payment("debit", 4025)]
    with pytest.raises(SaleError):
        plan_payments(4025, cash_given_cents=None, debit_cents=-1)
