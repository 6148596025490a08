"""The person at the counter is the person on the ID: pickups, scans, searches, walk-ins."""

import uuid
from datetime import timedelta

import pytest
from register_support import last_sale_id, license_text, make_package, make_product
from storefront_support import add, checkout, enter, open_all_day, order_id_from, sign_in, stock

from extensions import db
from models.infra.audit import AuditEvent
from models.people.customers import Customer
from models.sales.checkin import search_customers
from models.sales.orders import Order
from support import store_today, years_before


@pytest.fixture
def budtender(store, make_user):
    return make_user(store)


@pytest.fixture
def counter(htmx_client, budtender, login_as):
    login_as(htmx_client, budtender)
    return htmx_client


def fresh(customer) -> Customer:
    db.session.expire_all()
    return db.session.get(Customer, customer.id)


@pytest.fixture
def ready_order(app, store, make_customer, counter):
    """An online order by Ana Ruiz, packed and on the pickup shelf, with her ID on file."""
    open_all_day(store)
    ana = make_customer(email="ana@example.com", first_name="Ana", last_name="Ruiz",
                        date_of_birth=years_before(store_today(), 33), id_state="CO",
                        id_expires=store_today() + timedelta(days=500))  # fmt: skip
    ana.id_number = "D0001111"
    db.session.commit()
    flower = stock(store, "Pickup Flower", price_cents=3000)
    web = app.test_client()
    enter(web)
    sign_in(web, ana)
    add(web, store, flower, 1)
    order_id = order_id_from(checkout(web, store))
    base = f"/register/online/{order_id}"
    counter.post(f"{base}/accept")
    line = db.session.get(Order, order_id).lines[0]
    counter.post(f"{base}/lines/{line.id}/pack", data={"tag": flower.packages[0].tag})
    assert counter.post(f"{base}/ready").status_code == 200
    return ana, base


def test_pickup_refuses_a_license_in_another_name_with_the_same_birth_date(counter, ready_order):
    ana, base = ready_order
    stranger = license_text(first="SOMEONE", last="ELSE", birth=ana.date_of_birth,
                            number="Z9999999")  # fmt: skip
    response = counter.post(f"{base}/id", data={"scan": stranger})
    assert response.status_code == 409
    assert "name on the ID" in response.get_data(as_text=True)
    ana = fresh(ana)
    assert ana.id_number == "D0001111"
    assert db.session.get(Order, int(base.rsplit("/", 1)[1])).id_checked_at is None


def test_pickup_refuses_an_id_number_other_than_the_one_on_file(counter, ready_order):
    ana, base = ready_order
    other_number = license_text(first="ANA", last="RUIZ", birth=ana.date_of_birth, number="Q123")
    response = counter.post(f"{base}/id", data={"scan": other_number})
    assert response.status_code == 409
    assert "ID number" in response.get_data(as_text=True)
    assert fresh(ana).id_number == "D0001111"


def test_pickup_passes_for_the_customer_named_on_the_id(counter, ready_order):
    ana, base = ready_order
    own = license_text(first="ANA", last="RUIZ", birth=ana.date_of_birth, number="D0001111")
    response = counter.post(f"{base}/id", data={"scan": own})
    assert response.status_code == 200, response.get_data(as_text=True)
    typed = {"birth": ana.date_of_birth.isoformat(), "last_name": "ruiz",
             "id_number": "d000 1111",
             "id_expires": (store_today() + timedelta(days=90)).isoformat()}  # fmt: skip
    assert counter.post(f"{base}/id", data=typed).status_code == 200


def test_a_manager_changes_stored_identity_with_a_reason_audited_by_field_name(
    htmx_client, store, make_user, make_customer, login_as
):
    customer = make_customer(first_name="Ana", last_name="Ruiz", id_state="CO")
    customer.id_number = "D0001111"
    db.session.commit()
    budtender = make_user(store)
    manager = make_user(store, role="manager", pin="1357")
    login_as(htmx_client, budtender)
    url = f"/register/customers/{customer.id}/identity"
    form = {"first_name": "Ana", "last_name": "Ruiz-Vega", "date_of_birth":
            customer.date_of_birth.isoformat(), "id_number": "N7777777", "id_state": "CO",
            "id_expires": (store_today() + timedelta(days=900)).isoformat(),
            "reason": "Married name on her new license"}  # fmt: skip
    alone = htmx_client.post(url, data=form)
    assert alone.status_code == 403 and "manager" in alone.get_data(as_text=True)
    peer = make_user(store, pin="9999")
    vouched = htmx_client.post(url, data={**form, "manager_id": peer.id, "manager_pin": "9999"})
    assert vouched.status_code == 403 and fresh(customer).last_name == "Ruiz"
    no_reason = htmx_client.post(url, data={**form, "reason": "", "manager_id": manager.id,
                                            "manager_pin": "1357"})  # fmt: skip
    assert no_reason.status_code == 422
    approved = htmx_client.post(url, data={**form, "manager_id": manager.id,
                                            "manager_pin": "1357"})  # fmt: skip
    assert approved.status_code == 200, approved.get_data(as_text=True)
    changed = fresh(customer)
    assert (changed.last_name, changed.id_number) == ("Ruiz-Vega", "N7777777")
    event = db.session.query(AuditEvent).filter_by(action="customer.identity_edited").one()
    assert event.user_id == budtender.id and event.details["approved_by"] == manager.id
    assert sorted(event.details["fields"]) == ["id_expires", "id_number", "last_name"]
    assert event.reason == "Married name on her new license"
    text = str(event.details)
    assert "N7777777" not in text and "Ruiz-Vega" not in text and "D0001111" not in text


def test_a_manager_at_the_register_edits_identity_without_a_second_pin(
    htmx_client, store, make_user, make_customer, login_as
):
    customer = make_customer(first_name="Ana", last_name="Ruiz")
    login_as(htmx_client, make_user(store, role="manager"))
    page = htmx_client.get(f"/register/customers/{customer.id}/identity")
    assert page.status_code == 200 and "Reason" in page.get_data(as_text=True)
    form = {"first_name": "Anna", "last_name": "Ruiz", "reason": "Typo in the first name",
            "date_of_birth": customer.date_of_birth.isoformat()}  # fmt: skip
    assert (
        htmx_client.post(f"/register/customers/{customer.id}/identity", data=form).status_code
        == 200
    )
    assert fresh(customer).first_name == "Anna"


def test_scanning_a_patients_license_finds_their_record_without_the_card_fields(
    counter, make_customer
):
    patient = make_customer(first_name="Tomás", last_name="Herrera", kind="medical",
                            medical_card_number="NM-MCP-448812", medical_card_state="NM",
                            medical_card_expires=store_today() + timedelta(days=100),
                            date_of_birth=years_before(store_today(), 67))  # fmt: skip
    scan = license_text(first="TOMAS", last="HERRERA", birth=patient.date_of_birth, number="H55")
    response = counter.post("/register/checkin/scan", data={"scan": scan})
    assert response.status_code == 204, response.get_data(as_text=True)
    assert db.session.get(Order, last_sale_id(response)).customer_id == patient.id
    assert db.session.query(Customer).count() == 1
    assert fresh(patient).id_number == "H55"
    again = counter.post("/register/checkin/scan", data={"scan": scan})
    assert db.session.get(Order, last_sale_id(again)).customer_id == patient.id


def test_a_scan_that_matches_a_name_and_birth_date_with_another_id_on_file_is_refused(
    counter, make_customer
):
    known = make_customer(first_name="Lee", last_name="Park", id_state="CO")
    known.id_number = "P1"
    db.session.commit()
    scan = license_text(first="LEE", last="PARK", birth=known.date_of_birth, number="P2")
    response = counter.post("/register/checkin/scan", data={"scan": scan})
    assert response.status_code == 409
    assert "different ID" in response.get_data(as_text=True)
    assert fresh(known).id_number == "P1" and db.session.query(Customer).count() == 1


def test_search_finds_accented_names_and_cards_by_their_last_digits(make_customer, app):
    tomas = make_customer(first_name="Tomás", last_name="Herrera", kind="medical",
                          medical_card_number="NM-MCP-448812",
                          medical_card_expires=store_today() + timedelta(days=100))  # fmt: skip
    assert search_customers("Tomas") == [tomas]
    assert search_customers("TOMÁS herr") == [tomas]
    assert search_customers("8812") == [tomas]
    assert tomas.medical_card_last4 == "8812"


def test_customer_search_is_posted_so_names_and_cards_stay_out_of_urls(counter, make_customer):
    make_customer(first_name="Emily", last_name="Park")
    assert counter.get("/register/customers?q=emily").status_code == 405
    found = counter.post("/register/customers", data={"q": "emily"})
    assert found.status_code == 200 and "Emily Park" in found.get_data(as_text=True)
    home = counter.get("/register/").get_data(as_text=True)
    assert 'hx-post="/register/customers"' in home
    refused = counter.post("/register/customers", data={"q": "emily"}, csrf=False)
    assert refused.status_code == 400


def _concentrate(store):
    wax = make_product(store, name="Shatter 4g", category="concentrate",
                       limit_category="concentrate", net_weight_mg=4000, thc_pct_bp=None,
                       thc_mg=3000)  # fmt: skip
    return make_package(wax, 10)


def _typed_walk_in(client, number: str):
    data = {
        "birth": years_before(store_today(), 30).isoformat(),
        "id_expires": (store_today() + timedelta(days=300)).isoformat(),
        "id_number": number,
    }
    response = client.post("/register/checkin/manual", data=data)
    assert response.status_code == 204, response.get_data(as_text=True)
    return last_sale_id(response)


def test_the_same_id_typed_twice_in_a_day_is_one_person_for_the_caps(counter, store):
    jar = _concentrate(store)
    first = _typed_walk_in(counter, "co-555 123")
    assert counter.post(f"/register/sale/{first}/scan", data={"tag": jar.tag}).status_code == 200
    assert counter.post(f"/register/sale/{first}/scan", data={"tag": jar.tag}).status_code == 200
    total = db.session.get(Order, first).total_cents
    paid = counter.post(f"/register/sale/{first}/complete",
                        data={"client_token": uuid.uuid4().hex,
                              "debit": f"{total // 100}.{total % 100:02d}"})  # fmt: skip
    assert paid.status_code == 204, paid.get_data(as_text=True)
    second = _typed_walk_in(counter, "CO-555123")
    refused = counter.post(f"/register/sale/{second}/scan", data={"tag": jar.tag})
    assert refused.status_code == 409
    assert "Concentrate per day" in refused.get_data(as_text=True)
    # Only the ID's keyed hash is kept for an anonymous walk-in: no name, no number.
    assert db.session.query(Customer).count() == 0
    sale = db.session.get(Order, first)
    assert sale.customer_id is None and sale.id_number_hash is not None
    assert "555123" not in sale.id_number_hash


def test_a_walk_in_sale_is_not_in_the_customers_online_order_history(
    client, counter, make_customer, budtender
):
    shopper = make_customer(email="both@example.com", id_expires=store_today() + timedelta(days=90))
    walk_in = last_sale_id(counter.post(f"/register/checkin/customer/{shopper.id}"))
    sign_in(client, shopper)
    account = client.get("/account").get_data(as_text=True)
    assert f"Order #{walk_in}" not in account
    assert client.get(f"/account/orders/{walk_in}").status_code == 404
