"""A medical card typed in online is a claim: adult use everywhere until a budtender checks it."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from register_support import license_text
from sqlalchemy import select
from storefront_support import (
    add,
    checkout,
    enter,
    open_all_day,
    order_id_from,
    sign_in,
    stock,
)

from extensions import db
from models.online.cart import check_items
from models.people.customers import Customer
from models.sales.orders import Order
from support import PASSWORD, store_today, years_before


@pytest.fixture
def nm_store(make_store):
    """A New Mexico store that serves patients (medical purchases carry no cannabis tax)."""
    store = make_store(state="NM", rule_pack="NM", tracktrace_system="biotrack", sells_medical=True)
    open_all_day(store)
    return store


def signup_with_card(client, email: str, birth: date, card: str = "I-MADE-THIS-UP"):
    return client.post(
        "/account/signup",
        data={
            "first_name": "Maya",
            "last_name": "Claimant",
            "email": email,
            "date_of_birth": birth.isoformat(),
            "resident_state": "NM",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "has_medical_card": "y",
            "medical_card_number": card,
            "medical_card_state": "NM",
            "medical_card_expires": (store_today() + timedelta(days=300)).isoformat(),
        },
    )


def customer_by_email(email: str) -> Customer:
    db.session.expire_all()
    return db.session.scalar(select(Customer).where(Customer.email == email))


def test_a_card_claimed_at_signup_buys_adult_use_with_adult_use_taxes(
    app, client, nm_store, make_user, login_as
):
    flower = stock(nm_store, "Claim Test Flower", price_cents=4500)
    walk_in_tax = check_items(nm_store, [(flower, 1, 4500)], None).taxes.tax_cents
    assert walk_in_tax > 0
    enter(client)
    assert (
        signup_with_card(client, "maya@example.com", years_before(store_today(), 30)).status_code
        == 303
    )
    customer = customer_by_email("maya@example.com")
    add(client, nm_store, flower, 1)
    cart = client.get(f"/stores/{nm_store.code}/cart").get_data(as_text=True)
    assert "As an adult-use customer" in cart
    assert "checked at the counter" in cart
    order_id = order_id_from(checkout(client, nm_store))
    order = db.session.get(Order, order_id)
    assert order.customer_class == "adult_use" and order.tax_cents == walk_in_tax
    assert customer_by_email("maya@example.com").card_verified_at is None

    # At pickup the budtender checks the ID; the card was never checked, so still adult use.
    register = app.test_client()
    register.environ_base["HTTP_HX_REQUEST"] = "true"
    login_as(register, make_user(nm_store))
    base = f"/register/online/{order_id}"
    assert register.post(f"{base}/accept").status_code == 200
    line = db.session.get(Order, order_id).lines[0]
    tag = flower.packages[0].tag
    assert register.post(f"{base}/lines/{line.id}/pack", data={"tag": tag}).status_code == 200
    ready = register.post(f"{base}/ready").get_data(as_text=True)
    assert "medical card is not verified" in ready and f"/register/customers/{customer.id}" in ready
    scan = license_text(first="MAYA", last="CLAIMANT", birth=customer.date_of_birth, state="NM")
    checked = register.post(f"{base}/id", data={"scan": scan})
    assert checked.status_code == 200, checked.get_data(as_text=True)
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    assert order.customer_class == "adult_use" and order.tax_cents == walk_in_tax
    assert customer_by_email("maya@example.com").card_verified_at is None


def test_an_18_to_20_year_old_with_an_unverified_card_keeps_the_account_but_cannot_buy(
    client, nm_store
):
    flower = stock(nm_store, "Too Soon Flower")
    enter(client)
    birth = years_before(store_today(), 19)
    assert signup_with_card(client, "young@example.com", birth).status_code == 303
    assert customer_by_email("young@example.com") is not None
    refused = add(client, nm_store, flower, 1)
    assert refused.status_code == 409
    body = refused.get_data(as_text=True)
    assert "under 21" in body and "checked at the counter" in body
    account = client.get("/account").get_data(as_text=True)
    assert "Not checked yet" in account and "under 21" in account


def test_the_account_page_says_the_card_will_be_checked_at_the_counter(client, make_customer):
    customer = make_customer(email="claim@example.com")
    sign_in(client, customer)
    expires = (store_today() + timedelta(days=200)).isoformat()
    client.post(
        "/account/medical-card", data={"number": "NM-555", "state": "NM", "expires": expires}
    )
    page = client.get("/account").get_data(as_text=True)
    assert "Not checked yet" in page
    assert "until then you buy as adult use" in page


# 03:00 UTC on 15 June is still 14 June in Denver (the test stores' zone).
EVENING_IN_DENVER = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)
TURNS_21_ON_UTC_DAY = date(2005, 6, 15)


def _signup_without_card(client, email: str):
    return client.post(
        "/account/signup",
        data={
            "first_name": "Early",
            "last_name": "Bird",
            "email": email,
            "date_of_birth": TURNS_21_ON_UTC_DAY.isoformat(),
            "resident_state": "CO",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )


@pytest.mark.parametrize("chosen", [True, False], ids=["store-chosen", "no-store-chosen"])
def test_signup_age_is_counted_on_the_stores_business_date(client, store, chosen):
    with time_machine.travel(EVENING_IN_DENVER, tick=False):
        enter(client)
        if chosen:
            client.get(f"/stores/{store.code}")
        response = _signup_without_card(client, f"early-{chosen}@example.com")
        assert response.status_code == 422, response.headers
        assert "21 or older" in response.get_data(as_text=True)
        assert customer_by_email(f"early-{chosen}@example.com") is None
