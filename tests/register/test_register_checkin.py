"""Check-in at the register: license scan, typed ID, returning customers, the queue."""

from datetime import date, timedelta

from register_support import hx_location, last_sale_id, license_text, open_sale

from extensions import db
from models.base import utcnow
from models.infra.audit import AuditEvent
from models.people.customers import Customer
from models.sales.checkin import search_customers
from models.sales.orders import Order
from support import store_today


def years_ago(years: int, days: int = 0) -> date:
    today = store_today()
    return today.replace(year=today.year - years) - timedelta(days=days)


def test_scanning_a_license_checks_the_customer_in_and_opens_their_sale(
    htmx_client, store, make_user, login_as
):
    budtender = make_user(store)
    login_as(htmx_client, budtender)
    text = license_text(first="ANA", last="LOPEZ", birth=years_ago(30), number="D1234567")
    response = htmx_client.post("/register/checkin/scan", data={"scan": text})
    assert response.status_code == 204
    order = db.session.get(Order, last_sale_id(response))
    assert (order.channel, order.status, order.customer_class) == ("register", "open", "adult_use")
    assert order.id_checked_at is not None and order.budtender_id == budtender.id
    customer = order.customer
    assert (customer.first_name, customer.last_name, customer.id_state) == ("Ana", "Lopez", "CO")
    assert customer.id_number == "D1234567" and customer.id_number_enc != b"D1234567"
    event = db.session.query(AuditEvent).filter_by(action="register.checkin").one()
    assert "D1234567" not in str(event.details)
    page = htmx_client.get(hx_location(response))
    assert "Ana Lopez" in page.get_data(as_text=True)


def test_the_same_license_again_finds_the_same_customer_and_resumes_the_sale(
    htmx_client, store, make_user, login_as
):
    login_as(htmx_client, make_user(store))
    text = license_text(birth=years_ago(44), number="X99")
    first = last_sale_id(htmx_client.post("/register/checkin/scan", data={"scan": text}))
    second = last_sale_id(htmx_client.post("/register/checkin/scan", data={"scan": text}))
    assert first == second
    assert db.session.query(Customer).count() == 1


def test_under_21_is_refused_visibly_and_nothing_is_stored(htmx_client, store, make_user, login_as):
    login_as(htmx_client, make_user(store))
    text = license_text(birth=years_ago(20), number="KID1")
    response = htmx_client.post("/register/checkin/scan", data={"scan": text})
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert 'class="refusal" role="alert"' in body and "Under 21 (age 20)" in body
    assert db.session.query(Customer).count() == 0
    assert db.session.query(Order).count() == 0
    refusal = db.session.query(AuditEvent).filter_by(action="register.checkin_refused").one()
    assert "Under 21" in refusal.reason


def test_an_expired_license_is_refused(htmx_client, store, make_user, login_as):
    login_as(htmx_client, make_user(store))
    text = license_text(expires=store_today() - timedelta(days=3))
    response = htmx_client.post("/register/checkin/scan", data={"scan": text})
    assert response.status_code == 409
    assert "ID expired on" in response.get_data(as_text=True)


def test_an_unreadable_scan_asks_for_another(htmx_client, store, make_user, login_as):
    login_as(htmx_client, make_user(store))
    response = htmx_client.post("/register/checkin/scan", data={"scan": "garbage text"})
    assert response.status_code == 422
    assert "not a driver&#39;s license barcode" in response.get_data(as_text=True)


def test_a_19_year_old_patient_checks_in_as_medical_with_a_card(
    htmx_client, make_store, make_user, login_as
):
    store = make_store(state="NM", rule_pack="NM", tracktrace_system="biotrack", sells_medical=True)
    login_as(htmx_client, make_user(store))
    data = {
        "scan": license_text(birth=years_ago(19), state="NM", number="NM19"),
        "card_number": "NM-MCP-000123",
        "card_expires": (store_today() + timedelta(days=90)).isoformat(),
        "card_read": "scan",
        "card_checked": "y",
    }
    response = htmx_client.post("/register/checkin/scan", data=data)
    assert response.status_code == 204, response.get_data(as_text=True)
    order = db.session.get(Order, last_sale_id(response))
    assert order.customer_class == "medical"
    assert order.customer.kind == "medical" and order.customer.card_last4 == "0123"
    assert order.customer.card_verified_at is not None


def test_under_18_with_a_medical_card_is_refused(htmx_client, make_store, make_user, login_as):
    store = make_store(state="NM", rule_pack="NM", tracktrace_system="biotrack", sells_medical=True)
    login_as(htmx_client, make_user(store))
    data = {
        "scan": license_text(birth=years_ago(17), state="NM"),
        "card_number": "NM-MCP-000777",
        "card_expires": (store_today() + timedelta(days=90)).isoformat(),
        "card_checked": "y",
    }
    response = htmx_client.post("/register/checkin/scan", data=data)
    assert response.status_code == 409
    assert "Under 18 (age 17)" in response.get_data(as_text=True)


def test_an_expired_medical_card_is_refused(htmx_client, make_store, make_user, login_as):
    store = make_store(state="NM", rule_pack="NM", tracktrace_system="biotrack", sells_medical=True)
    login_as(htmx_client, make_user(store))
    data = {
        "scan": license_text(birth=years_ago(50), state="NM"),
        "card_number": "NM-MCP-000999",
        "card_expires": (store_today() - timedelta(days=1)).isoformat(),
        "card_checked": "y",
    }
    response = htmx_client.post("/register/checkin/scan", data=data)
    assert response.status_code == 409
    assert "Medical card expired on" in response.get_data(as_text=True)


def test_typed_date_of_birth_and_expiry_check_in_an_anonymous_walk_in(
    htmx_client, store, make_user, login_as
):
    login_as(htmx_client, make_user(store))
    data = {
        "birth": years_ago(25).isoformat(),
        "id_expires": (store_today() + timedelta(days=30)).isoformat(),
        "id_number": "CO-7654321",
    }
    response = htmx_client.post("/register/checkin/manual", data=data)
    assert response.status_code == 204
    order = db.session.get(Order, last_sale_id(response))
    assert order.customer_id is None and order.id_checked_at is not None
    assert db.session.query(Customer).count() == 0
    assert "7654321" not in order.id_number_hash


def test_typed_check_in_refuses_under_21_and_missing_dates(htmx_client, store, make_user, login_as):
    login_as(htmx_client, make_user(store))
    young = {
        "birth": years_ago(21, days=-2).isoformat(),
        "id_expires": (store_today() + timedelta(days=30)).isoformat(),
        "id_number": "CO-1234567",
    }
    response = htmx_client.post("/register/checkin/manual", data=young)
    assert response.status_code == 409 and "Under 21" in response.get_data(as_text=True)
    missing = htmx_client.post("/register/checkin/manual", data={"birth": ""})
    assert missing.status_code == 422
    assert "Type the date of birth" in missing.get_data(as_text=True)
    assert "Type the ID number" in missing.get_data(as_text=True)


def test_returning_customers_are_found_by_name_phone_and_card(make_customer, app):
    rosa = make_customer(first_name="Rosa", last_name="Herrera", phone="505-555-0118")
    tomas = make_customer(
        first_name="Tomás",
        last_name="Herrera",
        kind="medical",
        medical_card_number="NM-MCP-448812",
        medical_card_expires=store_today() + timedelta(days=100),
    )
    assert search_customers("herrera") == [rosa, tomas]
    assert search_customers("ros herr") == [rosa]
    assert search_customers("5550118") == [rosa]
    assert search_customers("nm-mcp 448812") == [tomas]
    assert search_customers("x") == []
    assert search_customers("100%") == []


def test_searching_and_checking_in_a_returning_customer(
    htmx_client, store, make_user, make_customer, login_as
):
    login_as(htmx_client, make_user(store))
    customer = make_customer(
        first_name="Emily", last_name="Park", id_expires=store_today() + timedelta(days=300)
    )
    results = htmx_client.post("/register/customers", data={"q": "emily"})
    assert results.status_code == 200
    body = results.get_data(as_text=True)
    assert "Emily Park" in body and f"/register/checkin/customer/{customer.id}" in body
    response = htmx_client.post(f"/register/checkin/customer/{customer.id}")
    assert response.status_code == 204
    assert db.session.get(Order, last_sale_id(response)).customer_id == customer.id


def test_a_returning_customer_whose_id_expired_must_show_a_new_one(
    htmx_client, store, make_user, make_customer, login_as
):
    login_as(htmx_client, make_user(store))
    customer = make_customer(id_expires=store_today() - timedelta(days=1))
    response = htmx_client.post(f"/register/checkin/customer/{customer.id}")
    assert response.status_code == 409
    assert "ID expired on" in response.get_data(as_text=True)


def test_the_queue_lists_walk_ins_and_online_orders_and_polls_itself(
    htmx_client, store, make_store, make_user, make_customer, login_as
):
    budtender = make_user(store)
    login_as(htmx_client, budtender)
    walk_in = open_sale(store, budtender, make_customer(first_name="Walker", last_name="Inn"))
    pickup = utcnow() + timedelta(hours=2)
    web = Order(
        store_id=store.id,
        channel="web",
        status="ready",
        customer=make_customer(first_name="Olive", last_name="Online"),
        pickup_at=pickup,
        total_cents=4321,
    )
    elsewhere = Order(store_id=make_store().id, channel="web", status="placed")
    done = Order(store_id=store.id, channel="web", status="completed")
    db.session.add_all([web, elsewhere, done])
    db.session.commit()
    home = htmx_client.get("/register/").get_data(as_text=True)
    assert 'hx-trigger="every 5s"' in home
    queue = htmx_client.get("/register/queue")
    body = queue.get_data(as_text=True)
    assert queue.status_code == 200 and body.lstrip().startswith('<div id="queue"')
    assert "Walker Inn" in body and f"/register/sale/{walk_in.id}" in body
    assert f"#{web.id} · Olive Online" in body and "Ready" in body and "$43.21" in body
    assert pickup.astimezone(store.zone).strftime("%-I:%M %p") in body
    assert f"#{elsewhere.id} " not in body and f"#{done.id} " not in body


def test_a_locked_register_sends_check_ins_to_the_pin_screen(
    htmx_client, store, make_user, login_as
):
    login_as(htmx_client, make_user(store))
    htmx_client.post("/register/lock")
    response = htmx_client.post("/register/checkin/scan", data={"scan": license_text()})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/register/switch"
    assert db.session.query(Order).count() == 0
