"""Verifying a medical card at the register: a budtender checks the card, the state confirms it."""

from datetime import timedelta

import pytest
import time_machine
from register_support import last_sale_id, license_text
from storefront_support import sign_in
from tracktrace_support import point_at_biotrack, point_at_metrc

from extensions import db
from models.infra.audit import AuditEvent
from models.people.customers import Customer
from models.sales.orders import Order
from support import store_today, years_before
from tracktrace.emulator import Emulator

CARD = "NM-MCP-448812"


@pytest.fixture
def nm_store(make_store):
    return make_store(state="NM", rule_pack="NM", tracktrace_system="biotrack", sells_medical=True)


@pytest.fixture
def budtender(nm_store, make_user):
    return make_user(nm_store)


@pytest.fixture
def counter(htmx_client, budtender, login_as):
    """The register tablet, signed in as a budtender of the New Mexico store."""
    login_as(htmx_client, budtender)
    return htmx_client


@pytest.fixture
def patient(make_customer):
    """A customer who said online they hold a card; nobody has checked it."""
    return make_customer(
        email="tomas@example.com",
        first_name="Tomás",
        last_name="Herrera",
        kind="medical",
        medical_card_number=CARD,
        medical_card_state="NM",
        medical_card_expires=store_today() + timedelta(days=200),
        resident_state="NM",
        id_state="NM",
        id_expires=store_today() + timedelta(days=400),
    )


def verify(client, customer, number=CARD, expires=None, read="scan", checked=True):
    expires = expires or store_today() + timedelta(days=200)
    data = {"card_number": number, "card_expires": expires.isoformat(), "card_read": read}
    if checked:
        data["card_checked"] = "y"
    return client.post(f"/register/customers/{customer.id}/card", data=data)


def fresh(customer) -> Customer:
    db.session.expire_all()
    return db.session.get(Customer, customer.id)


def check_in(client, customer):
    return client.post(f"/register/checkin/customer/{customer.id}")


def test_a_claimed_card_is_unverified_and_sells_adult_use_from_the_record(counter, patient):
    response = check_in(counter, patient)
    assert response.status_code == 204, response.get_data(as_text=True)
    order = db.session.get(Order, last_sale_id(response))
    assert order.customer_class == "adult_use"
    page = counter.get(f"/register/sale/{order.id}").get_data(as_text=True)
    assert "not verified" in page and f"/register/customers/{patient.id}" in page


def test_an_unverified_19_year_old_patient_is_refused_at_check_in(counter, make_customer):
    young = make_customer(kind="medical", medical_card_number="NM-MCP-19", medical_card_state="NM",
                          medical_card_expires=store_today() + timedelta(days=90),
                          date_of_birth=years_before(store_today(), 19),
                          id_expires=store_today() + timedelta(days=300))  # fmt: skip
    response = check_in(counter, young)
    assert response.status_code == 409
    assert "Under 21 (age 19)" in response.get_data(as_text=True)
    assert db.session.query(Order).count() == 0


def test_verifying_the_card_records_who_when_how_and_until(counter, patient, budtender):
    record = counter.get(f"/register/customers/{patient.id}")
    page = record.get_data(as_text=True)
    assert record.status_code == 200 and "Verify medical card" in page and "Not verified" in page
    until = store_today() + timedelta(days=200)
    response = verify(counter, patient, read="typed")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Verified" in response.get_data(as_text=True)
    customer = fresh(patient)
    assert customer.card_verified_by_id == budtender.id
    assert customer.card_verified_at is not None and customer.card_verified_until == until
    assert customer.card_verified_read == "typed"
    assert customer.card_verified_state_check == "dry_run"
    event = db.session.query(AuditEvent).filter_by(action="customer.card_verified").one()
    assert event.user_id == budtender.id and event.customer_id == patient.id
    assert CARD not in str(event.details) and "8812" not in str(event.details)
    order = db.session.get(Order, last_sale_id(check_in(counter, patient)))
    assert order.customer_class == "medical"


def test_verifying_switches_an_open_adult_use_sale_to_medical(counter, patient):
    order_id = last_sale_id(check_in(counter, patient))
    assert verify(counter, patient).status_code == 200
    assert db.session.get(Order, order_id).customer_class == "medical"


def test_nothing_is_verified_without_the_budtenders_tick_or_with_another_expiry(counter, patient):
    response = verify(counter, patient, checked=False)
    assert response.status_code == 422
    assert "physical card" in response.get_data(as_text=True)
    expired = verify(counter, patient, expires=store_today() - timedelta(days=1))
    assert expired.status_code == 409 and "expired" in expired.get_data(as_text=True)
    assert fresh(patient).card_verified_at is None


def test_verification_expires_with_the_card(counter, patient, budtender, login_as):
    until = store_today() + timedelta(days=2)
    assert verify(counter, patient, expires=until).status_code == 200
    later = store_today() + timedelta(days=4)
    with time_machine.travel(later.isoformat() + "T18:00:00+00:00", tick=True):
        login_as(counter, budtender)
        response = check_in(counter, patient)
        order = db.session.get(Order, last_sale_id(response))
        assert order.customer_class == "adult_use"


def test_editing_the_card_online_after_verification_drops_it(client, counter, patient, nm_store):
    assert verify(counter, patient).status_code == 200
    assert fresh(patient).card_verified_at is not None
    sign_in(client, patient)
    later = (store_today() + timedelta(days=2000)).isoformat()
    saved = client.post(
        "/account/medical-card", data={"number": CARD, "state": "NM", "expires": later}
    )
    assert saved.status_code == 303
    assert fresh(patient).card_verified_at is None
    order = db.session.get(Order, last_sale_id(check_in(counter, patient)))
    assert order.customer_class == "adult_use"


def test_a_budtender_cannot_verify_their_own_card(htmx_client, nm_store, make_user, make_customer,
                                                   login_as):  # fmt: skip
    budtender = make_user(nm_store, email="dana@example.com")
    own = make_customer(email="dana@example.com", kind="medical", medical_card_number="NM-OWN-1",
                        medical_card_state="NM",
                        medical_card_expires=store_today() + timedelta(days=90))  # fmt: skip
    login_as(htmx_client, budtender)
    response = verify(htmx_client, own, number="NM-OWN-1")
    assert response.status_code == 409
    assert "your own" in response.get_data(as_text=True)
    assert fresh(own).card_verified_at is None


def test_a_card_verified_for_another_person_is_refused(counter, patient, make_customer):
    assert verify(counter, patient).status_code == 200
    other = make_customer(first_name="Other", last_name="Person")
    response = verify(counter, other, number=CARD)
    assert response.status_code == 409
    assert "another customer" in response.get_data(as_text=True)
    assert fresh(other).card_verified_at is None and fresh(patient).card_verified_at is not None


def test_a_store_that_does_not_serve_patients_cannot_verify(htmx_client, store, make_user,
                                                             login_as, patient):  # fmt: skip
    login_as(htmx_client, make_user(store))  # the default test store sells adult use only
    assert verify(htmx_client, patient).status_code == 404
    assert fresh(patient).card_verified_at is None


def test_checking_in_with_a_card_verifies_it_when_the_budtender_ticks(counter):
    data = {
        "scan": license_text(first="LENA", last="NEW", state="NM", number="NM19",
                             birth=years_before(store_today(), 19)),
        "card_number": "NM-MCP-000123",
        "card_expires": (store_today() + timedelta(days=90)).isoformat(),
        "card_read": "scan",
    }  # fmt: skip
    refused = counter.post("/register/checkin/scan", data=data)
    assert refused.status_code == 422 and "physical card" in refused.get_data(as_text=True)
    assert db.session.query(Customer).count() == 0
    response = counter.post("/register/checkin/scan", data={**data, "card_checked": "y"})
    assert response.status_code == 204, response.get_data(as_text=True)
    order = db.session.get(Order, last_sale_id(response))
    assert order.customer_class == "medical" and order.customer.card_verified_at is not None


@pytest.fixture
def emulator():
    with Emulator() as emu:
        yield emu


def test_new_mexico_confirms_the_card_through_biotrack(counter, nm_store, patient, emulator):
    point_at_biotrack(nm_store, emulator)
    emulator.world.register_patient(CARD, expires=store_today() + timedelta(days=200))
    response = verify(counter, patient)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "BioTrack confirmed" in response.get_data(as_text=True)
    assert fresh(patient).card_verified_state_check == "confirmed"
    assert emulator.world.requests("POST", "/v1/patient/lookup")


def test_a_card_biotrack_does_not_know_or_holds_inactive_is_refused_in_words(
    counter, nm_store, patient, emulator
):
    point_at_biotrack(nm_store, emulator)
    unknown = verify(counter, patient)
    assert unknown.status_code == 409
    assert "BioTrack has no patient card" in unknown.get_data(as_text=True)
    emulator.world.register_patient(CARD, expires=store_today() + timedelta(days=200), active=False)
    inactive = verify(counter, patient)
    assert inactive.status_code == 409
    assert "BioTrack says this card is not active" in inactive.get_data(as_text=True)
    assert fresh(patient).card_verified_at is None
    reasons = [e.reason for e in db.session.query(AuditEvent).filter_by(
        action="customer.card_refused_by_state")]  # fmt: skip
    assert len(reasons) == 2 and all("BioTrack" in r for r in reasons)


@pytest.mark.parametrize("fault, words", [("503", "server error"), ("hang", "did not answer")])
def test_when_the_state_is_down_the_card_stays_unverified_with_a_reason(
    app, counter, nm_store, patient, emulator, fault, words
):
    app.config["TRACKTRACE_LOOKUP_TIMEOUT"] = 0.5
    point_at_biotrack(nm_store, emulator)
    emulator.world.register_patient(CARD, expires=store_today() + timedelta(days=200))
    emulator.fail(fault, match="POST /v1/patient/lookup", hang_seconds=2)
    response = verify(counter, patient)
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert words in body and "stays unverified" in body
    assert fresh(patient).card_verified_at is None


def test_metrc_patient_status_confirms_or_refuses_the_card(counter, make_store, make_user,
                                                           make_customer, login_as,
                                                           emulator):  # fmt: skip
    store = make_store(state="CO", rule_pack="CO", sells_medical=True)
    point_at_metrc(store, emulator)
    login_as(counter, make_user(store))
    holder = make_customer(kind="medical", medical_card_number="CO-PT-1", medical_card_state="CO",
                           medical_card_expires=store_today() + timedelta(days=90))  # fmt: skip
    emulator.world.register_patient("CO-PT-1", active=False)
    refused = verify(counter, holder, number="CO-PT-1", expires=store_today() + timedelta(days=90))
    assert refused.status_code == 409
    assert "Metrc says this card is not active" in refused.get_data(as_text=True)
    emulator.world.register_patient("CO-PT-1", active=True)
    confirmed = verify(counter, holder, number="CO-PT-1",
                       expires=store_today() + timedelta(days=90))  # fmt: skip
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    assert fresh(holder).card_verified_state_check == "confirmed"
    assert emulator.world.requests("GET", "/patients/v2/statuses/")


def test_where_metrc_offers_no_lookup_the_budtenders_check_is_the_verification(
    counter, make_store, make_user, make_customer, login_as, emulator
):
    store = make_store(
        state="OR", rule_pack="OR", sells_medical=True, timezone="America/Los_Angeles"
    )
    point_at_metrc(store, emulator)
    login_as(counter, make_user(store))
    holder = make_customer(kind="medical", medical_card_number="OR-0001", medical_card_state="OR",
                           medical_card_expires=store_today() + timedelta(days=90))  # fmt: skip
    response = verify(counter, holder, number="OR-0001", expires=store_today() + timedelta(days=90))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "no card lookup" in response.get_data(as_text=True)
    assert fresh(holder).card_verified_state_check == "not_offered"
    assert not emulator.world.requests("GET", "/patients/")


def test_a_card_the_state_refuses_at_check_in_stores_nothing_but_the_refusal(
    counter, nm_store, emulator
):
    point_at_biotrack(nm_store, emulator)
    data = {
        "scan": license_text(first="ZOE", last="FAKE", state="NM", number="NM77",
                             birth=years_before(store_today(), 19)),
        "card_number": "I-MADE-THIS-UP",
        "card_expires": (store_today() + timedelta(days=300)).isoformat(),
        "card_read": "typed",
        "card_checked": "y",
    }  # fmt: skip
    response = counter.post("/register/checkin/scan", data=data)
    assert response.status_code == 409
    assert "BioTrack has no patient card" in response.get_data(as_text=True)
    assert db.session.query(Customer).count() == 0 and db.session.query(Order).count() == 0
    assert db.session.query(AuditEvent).filter_by(action="customer.card_refused_by_state").one()


def test_a_medical_sale_whose_card_changed_since_check_in_cannot_be_paid(
    app, client, counter, patient, nm_store
):
    from register_support import make_package, make_product

    assert verify(counter, patient).status_code == 200
    order_id = last_sale_id(check_in(counter, patient))
    jar = make_package(make_product(nm_store), 5)
    assert counter.post(f"/register/sale/{order_id}/scan", data={"tag": jar.tag}).status_code == 200
    sign_in(client, patient)
    client.post("/account/medical-card", data={
        "number": "NM-MCP-999999", "state": "NM",
        "expires": (store_today() + timedelta(days=300)).isoformat()})  # fmt: skip
    total = db.session.get(Order, order_id).total_cents
    pay = {"client_token": f"t-{order_id}", "debit": f"{total // 100}.{total % 100:02d}"}
    paid = counter.post(f"/register/sale/{order_id}/complete", data=pay)
    assert paid.status_code == 409
    assert "no longer verified" in paid.get_data(as_text=True)
    assert db.session.get(Order, order_id).status == "open"


def test_a_card_checked_in_one_state_is_not_a_patient_card_in_another(counter, patient, make_store):
    assert verify(counter, patient).status_code == 200
    colorado = make_store(state="CO", rule_pack="CO", sells_medical=True)
    assert fresh(patient).has_verified_medical_card(colorado) is False
