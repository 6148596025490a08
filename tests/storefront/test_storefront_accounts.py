"""Point 3: sign-up keeps the cart, order history, saved medical card, password reset by link."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from storefront_support import add, enable_logs, enter, sign_in, stock

from extensions import db
from models.online.cart import Cart
from models.people.accounts import PasswordReset
from models.people.customers import Customer
from models.people.users import LoginSession
from models.sales.orders import Order
from support import PASSWORD, shopper_today, store_today

SIGNUP = {
    "first_name": "Nora",
    "last_name": "New",
    "email": "nora@example.com",
    "date_of_birth": "1990-04-02",
    "resident_state": "CO",
    "password": "a-long-password-1",
    "confirm": "a-long-password-1",
}


def test_signing_up_keeps_the_cart_and_returns_to_checkout(client, store):
    product = stock(store, "Welcome Pack")
    enter(client)
    add(client, store, product, 1)
    response = client.post(f"/account/signup?next=/stores/{store.code}/checkout", data=SIGNUP)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/stores/{store.code}/checkout")
    customer = db.session.scalar(select(Customer).where(Customer.email == "nora@example.com"))
    cart = db.session.scalars(select(Cart)).one()
    assert cart.customer_id == customer.id
    assert "Welcome Pack" in client.get(f"/stores/{store.code}/cart").get_data(as_text=True)


def test_order_history_lists_only_the_customers_orders(client, store, make_customer):
    me = make_customer(email="me@example.com")
    other = make_customer(email="other@example.com")
    mine = Order(store_id=store.id, channel="web", status="completed", customer_id=me.id,
                 total_cents=4200)  # fmt: skip
    theirs = Order(store_id=store.id, channel="web", status="placed", customer_id=other.id)
    db.session.add_all([mine, theirs])
    db.session.commit()
    sign_in(client, me)
    page = client.get("/account").get_data(as_text=True)
    assert f"Order #{mine.id}" in page and "Picked up" in page and "$42.00" in page
    assert f"Order #{theirs.id}" not in page


def test_saving_and_removing_a_medical_card(client, htmx_client, make_customer):
    customer = make_customer(email="card@example.com")
    sign_in(client, customer)
    expires = (store_today() + timedelta(days=200)).isoformat()
    saved = client.post(
        "/account/medical-card", data={"number": "CO-778899", "state": "CO", "expires": expires}
    )
    assert saved.status_code == 303
    db.session.refresh(customer)
    assert customer.kind == "medical" and customer.card_last4 == "8899"
    assert b"CO-778899" not in (customer.medical_card_enc or b"")
    page = client.get("/account").get_data(as_text=True)
    assert "Card ending <strong>8899</strong>" in page
    assert client.post("/account/medical-card/remove").status_code == 303
    db.session.refresh(customer)
    assert customer.kind == "adult_use" and customer.medical_card_hash is None


def test_an_expired_or_taken_card_is_refused(htmx_client, make_customer):
    make_customer(email="holder@example.com", kind="medical", medical_card_number="CO-111222",
                  medical_card_state="CO",
                  medical_card_expires=store_today() + timedelta(days=30))  # fmt: skip
    customer = make_customer(email="second@example.com")
    sign_in(htmx_client, customer)
    old = (shopper_today() - timedelta(days=1)).isoformat()
    expired = htmx_client.post(
        "/account/medical-card", data={"number": "CO-333444", "state": "CO", "expires": old}
    )
    assert expired.status_code == 422 and "expired" in expired.get_data(as_text=True)
    soon = (store_today() + timedelta(days=30)).isoformat()
    taken = htmx_client.post(
        "/account/medical-card", data={"number": "CO-111222", "state": "CO", "expires": soon}
    )
    assert taken.status_code == 422 and "another account" in taken.get_data(as_text=True)
    assert db.session.get(Customer, customer.id).kind == "adult_use"


def _link(page: str) -> str:
    return re.search(r'href="(http://localhost/account/password/reset/[^"]+)"', page).group(1)


def test_password_reset_by_link(app, client, make_customer, caplog):
    customer = make_customer(email="forgot@example.com")
    other_device = app.test_client()
    sign_in(other_device, customer)
    enable_logs(caplog, "pistil.accounts", "pistil.mail")
    page = client.post("/account/password/forgot", data={"email": "Forgot@Example.com"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "a link to choose a new password is on its way" in text
    link = _link(text)
    # Without SMTP the mail is only noted in the log: no live link, no e-mail address.
    assert "mail customer-" in caplog.text and "reset" in caplog.text
    assert link not in caplog.text and "forgot@example.com" not in caplog.text.lower()
    path = link.removeprefix("http://localhost")
    assert "Choose a new password" in client.get(path).get_data(as_text=True)
    short = client.post(path, data={"password": "short", "confirm": "short"})
    assert short.status_code == 422
    done = client.post(path, data={"password": "brand-new-secret", "confirm": "brand-new-secret"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/account/login")
    db.session.refresh(customer)
    assert customer.check_password("brand-new-secret") and not customer.check_password(PASSWORD)
    # The link is spent, and the other device was signed out.
    assert client.get(path).status_code == 410
    assert other_device.get("/account").status_code == 302
    assert all(row.revoked_at for row in db.session.scalars(select(LoginSession)))


def test_unknown_email_gets_the_same_answer_and_no_link(client, caplog):
    enable_logs(caplog, "pistil.accounts", "pistil.mail")
    page = client.post("/account/password/forgot", data={"email": "nobody@example.com"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "a link to choose a new password is on its way" in text
    assert "/account/password/reset/" not in text
    assert db.session.scalars(select(PasswordReset)).all() == []


def test_an_expired_link_is_refused(client, make_customer):
    customer = make_customer(email="late@example.com")
    page = client.post("/account/password/forgot", data={"email": "late@example.com"})
    path = _link(page.get_data(as_text=True)).removeprefix("http://localhost")
    reset = db.session.scalars(select(PasswordReset)).one()
    reset.expires_at = reset.created_at - timedelta(seconds=1)
    db.session.commit()
    response = client.post(
        path, data={"password": "brand-new-secret", "confirm": "brand-new-secret"}
    )
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)
    db.session.refresh(customer)
    assert customer.check_password(PASSWORD)


@pytest.fixture
def smtp_outbox(app, monkeypatch):
    """Configure SMTP and catch what would be sent."""
    import smtplib

    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout=None):
            self.host, self.port = host, port

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self):
            pass

        def login(self, user, password):
            pass

        def send_message(self, message):
            sent.append(message)

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    app.config["SMTP_URL"] = "smtp://mail.example:2525"
    yield sent
    app.config.pop("SMTP_URL")


def test_with_smtp_the_link_is_mailed_and_not_logged(client, make_customer, smtp_outbox, caplog):
    make_customer(email="mailme@example.com")
    enable_logs(caplog, "pistil.accounts", "pistil.mail")
    client.post("/account/password/forgot", data={"email": "mailme@example.com"})
    assert len(smtp_outbox) == 1
    message = smtp_outbox[0]
    assert message["To"] == "mailme@example.com"
    assert "/account/password/reset/" in message.get_content()
    assert "/account/password/reset/" not in caplog.text
