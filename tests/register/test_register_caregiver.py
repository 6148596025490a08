"""Caregiver sales: the screen, the receipt and the state report name the patient."""

import uuid
from datetime import timedelta

import pytest
from register_support import license_text, make_package, make_product, open_sale
from tracktrace_support import FAST, point_at_biotrack, point_at_metrc

from extensions import db
from jobs.queues import wait_for_background
from jobs.reports import private_fields
from models.compliance.outbox import ComplianceReport
from models.infra.crypto import normalize_identifier
from models.sales.orders import Order
from support import base_config, check_card_at, store_today, years_before
from tracktrace.emulator import Emulator

PATIENT_CARD = "MCP-448812"
CAREGIVER_CARD = "CG-103377"


@pytest.fixture
def app_config(database_uri):
    config = base_config(database_uri)
    config.update(FAST)
    return config


@pytest.fixture
def emulator():
    with Emulator() as emu:
        yield emu


@pytest.fixture
def medical_store(make_store):
    """A Colorado store that sells to medical patients (Metrc takes caregiver receipts)."""
    return make_store(sells_medical=True)


@pytest.fixture
def make_family(make_customer, make_user):
    """Make a patient, their caregiver, and another patient, with cards checked at a store."""

    def factory(store):
        return _family(store, make_customer, make_user(store, "manager", pin="9911"))

    return factory


@pytest.fixture
def family(make_family, medical_store):
    """A Colorado patient, their caregiver, and another patient the caregiver does not buy for."""
    return make_family(medical_store)


def _family(store, make_customer, checker):
    card_expires = store_today() + timedelta(days=200)

    def card_holder(first, last, kind, card, **fields):
        holder = make_customer(
            first_name=first,
            last_name=last,
            kind=kind,
            medical_card_number=card,
            medical_card_state=store.state,
            medical_card_expires=card_expires,
            id_expires=store_today() + timedelta(days=900),
            **fields,
        )
        check_card_at(store, holder, checker)
        return holder

    patient = card_holder("Tomás", "Herrera", "medical", PATIENT_CARD)
    other = card_holder("Ana", "Ortiz", "medical", "MCP-990011")
    caregiver = card_holder(
        "Rosa",
        "Herrera",
        "caregiver",
        CAREGIVER_CARD,
        date_of_birth=years_before(store_today(), 41),
        caregiver_for_id=patient.id,
    )

    class Family:
        pass

    f = Family()
    f.patient, f.other, f.caregiver = patient, other, caregiver
    return f


@pytest.fixture
def budtender(medical_store, make_user, htmx_client, login_as):
    user = make_user(medical_store)
    login_as(htmx_client, user)
    return user


def caregiver_sale(store, budtender, caregiver):
    order = open_sale(store, budtender, caregiver, customer_class="medical")
    return order


def scan(client, order, package):
    response = client.post(f"/register/sale/{order.id}/scan", data={"tag": package.tag})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def pay_by_debit(client, order):
    db.session.expire_all()
    total = db.session.get(Order, order.id).total_cents
    response = client.post(
        f"/register/sale/{order.id}/complete",
        data={
            "client_token": uuid.uuid4().hex,
            "debit": f"{total // 100}.{total % 100:02d}",
            "debit_reference": "T1234",
        },
    )
    assert response.status_code == 204, response.get_data(as_text=True)


def no_full_card_numbers(page: str) -> None:
    assert PATIENT_CARD not in page and CAREGIVER_CARD not in page


def test_checking_in_a_caregiver_opens_a_sale_that_names_their_patient(
    htmx_client, medical_store, budtender, family
):
    family.caregiver.id_number = "CG41"
    db.session.commit()
    response = htmx_client.post(
        "/register/checkin/scan",
        data={
            "scan": license_text(
                first="ROSA",
                last="HERRERA",
                number="CG41",
                birth=family.caregiver.date_of_birth,
            ),
            "card_number": CAREGIVER_CARD,
            "card_expires": family.caregiver.medical_card_expires.isoformat(),
            "card_read": "scan",
            "card_checked": "y",
        },
    )
    assert response.status_code in (200, 204), response.get_data(as_text=True)
    order = db.session.query(Order).filter_by(customer_id=family.caregiver.id).one()
    page = htmx_client.get(f"/register/sale/{order.id}").get_data(as_text=True)
    assert "Rosa Herrera" in page and "Caregiver for Tomás Herrera" in page
    assert "patient card …8812" in page
    no_full_card_numbers(page)


def test_the_screen_and_the_receipt_name_the_patient_and_show_only_card_endings(
    htmx_client, medical_store, budtender, family
):
    order = caregiver_sale(medical_store, budtender, family.caregiver)
    jar = make_package(make_product(medical_store, name="Blue Dream 3.5g"), 5)
    scan(htmx_client, order, jar)
    screen = htmx_client.get(f"/register/sale/{order.id}").get_data(as_text=True)
    assert "Caregiver for Tomás Herrera · patient card …8812" in screen
    assert "caregiver card …3377" in screen
    no_full_card_numbers(screen)
    pay_by_debit(htmx_client, order)
    receipt = htmx_client.get(f"/register/sale/{order.id}/receipt").get_data(as_text=True)
    assert "Rosa Herrera" in receipt
    assert "Patient" in receipt and "Tomás Herrera" in receipt and "…8812" in receipt
    assert "Caregiver card" in receipt and "…3377" in receipt
    no_full_card_numbers(receipt)


def test_the_sale_keeps_the_patient_it_was_for_when_the_caregivers_link_changes(
    htmx_client, medical_store, budtender, family
):
    order = caregiver_sale(medical_store, budtender, family.caregiver)
    scan(htmx_client, order, make_package(make_product(medical_store), 5))
    pay_by_debit(htmx_client, order)
    wait_for_background()
    family.caregiver.caregiver_for_id = family.other.id
    db.session.commit()
    db.session.expire_all()
    sold = db.session.get(Order, order.id)
    assert sold.patient_id == family.patient.id
    report = db.session.query(ComplianceReport).filter_by(order_id=order.id, kind="sale").one()
    assert report.payload["customer_type"] == "caregiver"
    named = {"patient_license": PATIENT_CARD, "caregiver_license": CAREGIVER_CARD}
    assert private_fields(medical_store, report) == named
    # A report queued before sales kept their patient reads it from the order.
    report.payload = {k: v for k, v in report.payload.items() if k != "patient_id"}
    assert private_fields(medical_store, report) == named
    receipt = htmx_client.get(f"/register/sale/{order.id}/receipt").get_data(as_text=True)
    assert "Tomás Herrera" in receipt and "Ana Ortiz" not in receipt


def test_metrc_receives_the_patient_and_the_caregiver_license(
    htmx_client, medical_store, budtender, family, emulator
):
    point_at_metrc(medical_store, emulator)
    emulator.world.register_patient(PATIENT_CARD)
    emulator.world.register_caregiver(CAREGIVER_CARD, PATIENT_CARD)
    tag = "1A4FF0100000022000000777"
    package = make_package(make_product(medical_store), 5, tag=tag)
    emulator.world.add_package(medical_store.license_number, tag, 5, "Each")
    order = caregiver_sale(medical_store, budtender, family.caregiver)
    scan(htmx_client, order, package)
    pay_by_debit(htmx_client, order)
    wait_for_background()
    db.session.expire_all()
    report = db.session.query(ComplianceReport).filter_by(order_id=order.id, kind="sale").one()
    assert report.status == "sent", report.last_error
    (receipt,) = emulator.world.receipts(medical_store.license_number)
    assert receipt["SalesCustomerType"] == "Caregiver"
    assert receipt["PatientLicenseNumber"] == PATIENT_CARD
    assert receipt["CaregiverLicenseNumber"] == CAREGIVER_CARD


def test_biotrack_dispenses_against_the_patients_card(
    htmx_client, make_store, make_user, login_as, make_family, emulator
):
    store = make_store(state="NM", rule_pack="NM", tracktrace_system="biotrack", sells_medical=True)
    family = make_family(store)
    point_at_biotrack(store, emulator)
    emulator.world.register_patient(PATIENT_CARD)
    emulator.world.register_caregiver(CAREGIVER_CARD, PATIENT_CARD)
    user = make_user(store)
    login_as(htmx_client, user)
    tag = "6647123400000777"
    package = make_package(make_product(store), 5, tag=tag)
    emulator.world.add_package(store.license_number, tag, 5, "Each")
    order = caregiver_sale(store, user, family.caregiver)
    scan(htmx_client, order, package)
    pay_by_debit(htmx_client, order)
    wait_for_background()
    db.session.expire_all()
    report = db.session.query(ComplianceReport).filter_by(order_id=order.id, kind="sale").one()
    assert report.status == "sent", report.last_error
    (lookup,) = emulator.world.requests("POST", "/v1/patient/lookup")
    # BioTrack is asked for the card as it is written on the card, without dashes or spaces.
    assert lookup.body["CardID"] == normalize_identifier(PATIENT_CARD)
    (sale,) = emulator.world.sales(store.license_number)
    assert sale["Type"] == "MEDICAL" and sale["PatientCardID"] == normalize_identifier(PATIENT_CARD)


def test_a_caregiver_with_no_patient_on_file_cannot_buy_as_medical(
    htmx_client, medical_store, budtender, family
):
    family.caregiver.caregiver_for_id = None
    db.session.commit()
    order = caregiver_sale(medical_store, budtender, family.caregiver)
    jar = make_package(make_product(medical_store), 5)
    response = htmx_client.post(f"/register/sale/{order.id}/scan", data={"tag": jar.tag})
    assert response.status_code == 409
    assert "no patient on file" in response.get_data(as_text=True)
