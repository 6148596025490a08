"""Discounts per line or per sale: percent or amount, a reason, a manager PIN above a threshold."""

import pytest
from register_support import make_package, make_product, open_sale

from extensions import db
from models.infra.audit import AuditEvent
from models.sales.discounts import discount_text, needs_approval
from models.sales.errors import SaleError
from models.sales.lines import add_by_tag
from models.sales.orders import Order


@pytest.fixture
def cart(htmx_client, store, make_user, login_as):
    """A budtender with a sale of two $35 jars and one $20 pre-roll pack."""
    budtender = make_user(store)
    login_as(htmx_client, budtender)
    order = open_sale(store, budtender)
    jar = make_package(make_product(store, price_cents=3500), 5)
    rolls = make_package(
        make_product(store, category="preroll", limit_category="preroll", price_cents=2000,
                     net_weight_mg=2000),
        5,
    )  # fmt: skip
    add_by_tag(order, jar.tag, 2)
    add_by_tag(order, rolls.tag, 1)
    db.session.commit()
    return order


def line_url(order, index):
    line = order.lines[index]
    return f"/register/sale/{order.id}/lines/{line.id}/discount"


def reload(order):
    db.session.expire_all()
    return db.session.get(Order, order.id)


def test_a_small_line_discount_needs_only_a_reason(htmx_client, cart):
    response = htmx_client.post(
        line_url(cart, 0), data={"kind": "percent", "value": "10", "reason": "Veteran"}
    )
    assert response.status_code == 200
    assert "Discount applied." in response.get_data(as_text=True)
    order = reload(cart)
    jar_line = order.lines[0]
    assert (jar_line.discount_cents, jar_line.line_total_cents) == (700, 6300)
    assert order.discount_cents == 700 and order.subtotal_cents == 9000
    # CO's 15% is charged on the price after the discount.
    assert order.tax_cents == 945 + 300 and order.total_cents == 6300 + 2000 + 1245
    event = db.session.query(AuditEvent).filter_by(action="discount.line").one()
    assert event.reason == "Veteran" and event.details["amount_cents"] == 700


def test_a_discount_needs_a_reason(htmx_client, cart):
    response = htmx_client.post(line_url(cart, 0), data={"kind": "amount", "value": "2"})
    assert response.status_code == 422
    assert "Give a reason for the discount" in response.get_data(as_text=True)
    assert reload(cart).lines[0].discount_cents == 0


def test_a_sale_discount_is_spread_over_the_lines_to_the_cent(htmx_client, cart):
    response = htmx_client.post(
        f"/register/sale/{cart.id}/discount",
        data={"kind": "amount", "value": "8.99", "reason": "Loyalty reward"},
    )
    assert response.status_code == 200
    order = reload(cart)
    shares = [line.sale_discount_cents for line in order.lines]
    # 699.2 and 199.8: the leftover cent goes to the larger remainder.
    assert sum(shares) == 899 and shares == [699, 200]
    assert [line.line_total_cents for line in order.lines] == [6301, 1800]
    assert order.discount_cents == 899 and order.discount_reason == "Loyalty reward"


def test_above_the_threshold_a_manager_pin_is_asked_for(htmx_client, cart, store, make_user):
    manager = make_user(store, role="manager", pin="8642")
    data = {"kind": "percent", "value": "25", "reason": "Damaged box"}
    asked = htmx_client.post(line_url(cart, 0), data=data)
    assert asked.status_code == 422
    body = asked.get_data(as_text=True)
    assert "a manager must approve it with their PIN" in body
    assert 'name="manager_pin"' in body and manager.name in body
    wrong = htmx_client.post(
        line_url(cart, 0), data={**data, "manager_id": manager.id, "manager_pin": "0000"}
    )
    assert wrong.status_code == 422 and "Wrong PIN" in wrong.get_data(as_text=True)
    assert reload(cart).lines[0].discount_cents == 0
    approved = htmx_client.post(
        line_url(cart, 0), data={**data, "manager_id": manager.id, "manager_pin": "8642"}
    )
    assert approved.status_code == 200
    line = reload(cart).lines[0]
    assert (line.discount_cents, line.discount_approved_by_id) == (1750, manager.id)
    event = db.session.query(AuditEvent).filter_by(action="discount.line").one()
    assert event.details["approved_by"] == manager.id
    assert db.session.query(AuditEvent).filter_by(action="register.approval_pin_failed").count()


def test_a_budtender_cannot_approve_their_own_big_discount(htmx_client, cart, store, make_user):
    peer = make_user(store, pin="5555")
    response = htmx_client.post(
        f"/register/sale/{cart.id}/discount",
        data={"kind": "amount", "value": "30", "reason": "Friend", "manager_id": peer.id,
              "manager_pin": "5555"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "Choose the manager who approves" in response.get_data(as_text=True)


def test_a_manager_selling_approves_by_themselves(store, make_user):
    manager = make_user(store, role="manager")
    order = open_sale(store, manager)
    add_by_tag(order, make_package(make_product(store), 3).tag, 2)
    from models.sales.discounts import set_sale_discount

    set_sale_discount(order, "percent", 5000, "Staff sale", manager)
    assert order.discount_approved_by_id == manager.id and order.discount_cents == 3500


def test_removing_a_discount(htmx_client, cart):
    htmx_client.post(line_url(cart, 1), data={"kind": "amount", "value": "1", "reason": "Promo"})
    assert reload(cart).lines[1].discount_cents == 100
    htmx_client.post(line_url(cart, 1), data={"kind": "none"})
    line = reload(cart).lines[1]
    assert (line.discount_cents, line.discount_kind, line.discount_reason) == (0, None, None)


def test_thresholds_are_store_settings(store):
    assert needs_approval(store, 10000, 1001) and not needs_approval(store, 10000, 1000)
    assert needs_approval(store, 100000, 2001)
    store.discount_approval_bp, store.discount_approval_cents = 2500, 5000
    assert not needs_approval(store, 10000, 2500)


def test_a_percent_is_at_most_100(store, make_user):
    manager = make_user(store, role="manager")
    order = open_sale(store, manager)
    add_by_tag(order, make_package(make_product(store), 3).tag)
    from models.sales.discounts import set_sale_discount

    with pytest.raises(SaleError, match="between 0 and 100%"):
        set_sale_discount(order, "percent", 10001, "Too much", manager)


def test_discounts_show_as_typed():
    assert discount_text("percent", 1250) == "12.5" and discount_text("percent", 1000) == "10"
    assert discount_text("amount", 1005) == "10.05" and discount_text(None, None) == ""


def test_a_lines_discount_form_loads_when_first_opened(htmx_client, cart):
    line = cart.lines[0]
    page = htmx_client.get(f"/register/sale/{cart.id}").get_data(as_text=True)
    # Only the whole-sale discount form is in the page; each line's loads on demand.
    assert 'hx-trigger="toggle once"' in page and page.count("Reason (e.g.") == 1
    form = htmx_client.get(f"/register/sale/{cart.id}/lines/{line.id}/discount")
    assert form.status_code == 200
    body = form.get_data(as_text=True)
    assert body.lstrip().startswith('<form class="discount-form"') and 'name="reason"' in body
    assert htmx_client.get(f"/register/sale/{cart.id}/lines/999999/discount").status_code == 404
