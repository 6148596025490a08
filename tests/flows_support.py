"""The main flows end to end through the web: walk-in sale, online order and pickup, void, return,
password reset. Shared by the fault drills (Redis down) and the no-personal-data-in-logs test."""

import re
import uuid
from dataclasses import dataclass

from register_support import hx_location, last_sale_id, license_text, make_package, make_product
from storefront_support import add, checkout, enter, open_all_day, order_id_from, sign_in, stock

from extensions import db
from models.sales.orders import Order
from support import store_today, years_before

# Someone whose every detail is unique, so any trace of them in a log or a queue is found.
FIRST, LAST = "Marisol", "Quintanilla"
EMAIL = "marisol.quintanilla@example.com"
ID_NUMBER = "Q77123456"
CARD = "MMJ-55102938"
MANAGER_PIN = "8642"


@dataclass
class Counter:
    """The people and things the flows use."""

    store: object
    customer: object
    budtender: object
    manager: object
    register: object
    web: object


def set_up(app, store, make_user, make_customer, login_as) -> Counter:
    """A store open all day, a customer with an online account, a budtender with a drawer."""
    open_all_day(store)
    customer = make_customer(
        email=EMAIL,
        medical_card_number=CARD,
        first_name=FIRST,
        last_name=LAST,
        date_of_birth=years_before(store_today(), 34),
    )
    budtender = make_user(store)
    manager = make_user(store, role="manager", pin=MANAGER_PIN)
    register = app.test_client()
    register.environ_base["HTTP_HX_REQUEST"] = "true"
    login_as(register, budtender)
    opened = register.post("/register/drawer/open", data={"name": "Front", "float_amount": "200"})
    assert opened.status_code < 400, opened.get_data(as_text=True)
    web = app.test_client()
    return Counter(store, customer, budtender, manager, register, web)


def ok(response, *statuses: int):
    """Check a step answered as it should (never a server error)."""
    expected = statuses or (200, 204, 303)
    assert response.status_code in expected, (
        response.status_code,
        response.get_data(as_text=True)[:800],
    )
    return response


def walk_in_sale(counter: Counter) -> int:
    """Check the customer in by scanning their license, scan a jar, take cash; return the sale."""
    register = counter.register
    scan = license_text(
        first=FIRST.upper(),
        last=LAST.upper(),
        birth=counter.customer.date_of_birth,
        number=ID_NUMBER,
    )
    sale_id = last_sale_id(ok(register.post("/register/checkin/scan", data={"scan": scan}), 204))
    package = make_package(
        make_product(counter.store, name="Walk-in Jar"), 5, tag=f"1A40603000WALKIN{sale_id:08d}"
    )
    ok(register.post(f"/register/sale/{sale_id}/scan", data={"tag": package.tag}))
    total = db.session.get(Order, sale_id).total_cents
    paid = register.post(
        f"/register/sale/{sale_id}/complete",
        data={"client_token": uuid.uuid4().hex, "cash_given": f"{total / 100 + 20:.2f}"},
    )
    ok(paid, 204)
    assert db.session.get(Order, sale_id).status == "completed"
    return sale_id


def online_order(counter: Counter) -> int:
    """The customer orders online and picks up: accept, pack, ready, ID check, pay."""
    web, register = counter.web, counter.register
    enter(web)
    sign_in(web, counter.customer)
    jar = stock(counter.store, "Online Jar", quantity=5, price_cents=4000,
                tag=f"1A40603000ONLINE{uuid.uuid4().int % 10**8:08d}")  # fmt: skip
    ok(add(web, counter.store, jar, 1))
    order_id = order_id_from(ok(checkout(web, counter.store)))
    base = f"/register/online/{order_id}"
    ok(register.post(f"{base}/accept"))
    line = db.session.get(Order, order_id).lines[0]
    ok(register.post(f"{base}/lines/{line.id}/pack", data={"tag": jar.packages[0].tag}))
    ok(register.post(f"{base}/ready"))
    scan = license_text(
        first=FIRST.upper(),
        last=LAST.upper(),
        birth=counter.customer.date_of_birth,
        number=ID_NUMBER,
    )
    ok(register.post(f"{base}/id", data={"scan": scan}))
    total = db.session.get(Order, order_id).total_cents
    pay = {"client_token": uuid.uuid4().hex, "debit": f"{total / 100:.2f}"}
    done = ok(register.post(f"{base}/complete", data=pay), 204)
    assert hx_location(done) == f"/register/sale/{order_id}/receipt"
    assert db.session.get(Order, order_id).status == "completed"
    return order_id


def void(counter: Counter, sale_id: int) -> None:
    """A manager voids a sale with their PIN."""
    response = counter.register.post(
        f"/register/sale/{sale_id}/void",
        data={"reason": "Rang up twice", "manager_id": counter.manager.id,
              "manager_pin": MANAGER_PIN},
    )  # fmt: skip
    ok(response, 204)
    assert db.session.get(Order, sale_id).status == "voided"


def take_back(counter: Counter, sale_id: int) -> None:
    """One item of a sale comes back to the shelf, refunded as it was paid."""
    line = db.session.get(Order, sale_id).lines[0]
    response = counter.register.post(
        f"/register/sale/{sale_id}/return",
        data={"reason": "Changed their mind", "refund_kind": "paid",
              f"qty-{line.id}": "1", f"disposition-{line.id}": "restock",
              # A store may want a manager's approval for a cash refund: she is at hand.
              "manager_id": counter.manager.id, "manager_pin": MANAGER_PIN},
    )  # fmt: skip
    ok(response, 204)
    assert db.session.get(Order, sale_id).lines[0].returned_quantity == 1


def forgot_password(counter: Counter) -> str:
    """The customer asks for a password reset link; return its token (tests show it on the page)."""
    page = ok(counter.web.post("/account/password/forgot", data={"email": EMAIL}), 200)
    text = page.get_data(as_text=True)
    assert "on its way" in text
    return re.search(r'href="http://localhost/account/password/reset/([^"]+)"', text).group(1)


def run_all(counter: Counter) -> dict:
    """Run every main flow; return the sales they made and the reset link's token."""
    walk_in = walk_in_sale(counter)
    online = online_order(counter)
    void(counter, walk_in)
    take_back(counter, online)
    token = forgot_password(counter)
    return {"walk_in": walk_in, "online": online, "reset_token": token}
