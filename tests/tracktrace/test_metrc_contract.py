"""Metrc v2 adapter against the emulator over real HTTP: every call and every error shape."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from tracktrace_support import USER_KEY, VENDOR_KEY, metrc_tag

from tracktrace.base import Rejected, TryLater, Unauthorized
from tracktrace.emulator import Emulator
from tracktrace.metrc import MetrcAdapter, error_message, local_sales_time

LICENSE = "402R-00123"
DENVER = ZoneInfo("America/Denver")


@pytest.fixture
def emulator():
    with Emulator() as emu:
        emu.world.add_metrc_facility(LICENSE, vendor_key=VENDOR_KEY, user_key=USER_KEY,
                                     name="Pistil RiNo")  # fmt: skip
        emu.world.add_package(LICENSE, metrc_tag(1), 10, "Each")
        emu.world.add_package(LICENSE, metrc_tag(2), Decimal("28.000"), "Grams")
        yield emu


def adapter(emulator, *, user_key=USER_KEY, license_number=LICENSE, read=0.5):
    return MetrcAdapter(
        base_url=emulator.url, license_number=license_number, vendor_key=VENDOR_KEY,
        user_key=user_key, zone=DENVER, timeout=(1.0, read),
    )  # fmt: skip


def sale(lines, sold_at="2026-03-01T23:44:53.250000+00:00", customer="consumer", **extra):
    return {
        "sold_at": sold_at, "business_date": "2026-03-01", "customer_type": customer,
        "lines": [
            {"line_id": n, "tag": tag, "name": f"Item {n}", "quantity": q, "unit": unit,
             "amount_cents": cents}
            for n, (tag, q, unit, cents) in enumerate(lines, 1)
        ],
        **extra,
    }  # fmt: skip


def test_sales_date_time_is_facility_local_time_without_offset():
    # 23:44:53.250 UTC on March 1 is 16:44:53.250 in Denver (UTC-7 in winter).
    assert local_sales_time("2026-03-01T23:44:53.250000+00:00", DENVER) == "2026-03-01T16:44:53.250"
    # Summer: UTC-6.
    assert local_sales_time("2026-07-01T18:00:00+00:00", DENVER) == "2026-07-01T12:00:00.000"


def test_report_sale_posts_one_receipt_and_keeps_metrc_id(emulator):
    metrc = adapter(emulator)
    fact = sale([(metrc_tag(1), 2, "each", 7000), (metrc_tag(2), 3500, "grams", 3500)])
    sent = metrc.report_sale(fact, external_number="42", request_id="r1")
    (receipt,) = emulator.world.receipts(LICENSE)
    assert sent.state_id == str(receipt["Id"])
    assert receipt["ExternalReceiptNumber"] == "42"
    assert receipt["SalesDateTime"] == "2026-03-01T16:44:53.250"
    assert receipt["SalesCustomerType"] == "Consumer"
    assert [(t["PackageLabel"], t["QuantitySold"], t["UnitOfMeasureName"], t["TotalPrice"])
            for t in receipt["Transactions"]] == [
        (metrc_tag(1), Decimal(2), "Each", Decimal("70.00")),
        (metrc_tag(2), Decimal("3.5"), "Grams", Decimal("35.00")),
    ]  # fmt: skip
    packages = emulator.world.facilities[LICENSE].packages
    assert packages[metrc_tag(1)].quantity == 8 and packages[metrc_tag(2)].quantity == Decimal(
        "24.5"
    )
    # The wire body: an array of one, exact decimals, no float artefacts.
    (post,) = emulator.world.requests("POST", "/sales/v2/receipts")
    assert post.license == LICENSE and len(post.body) == 1
    (exchange,) = metrc.take_exchanges()
    assert (
        '"TotalAmount":70.00' in exchange.request_body and '"Quantity":3.5' in exchange.request_body
    )
    assert exchange.url == f"/sales/v2/receipts?licenseNumber={LICENSE}"
    assert USER_KEY not in json.dumps(exchange.__dict__, default=str)


def test_patient_sale_carries_the_card_and_keeps_it_masked(emulator):
    emulator.world.register_patient("PT-55512345")
    metrc = adapter(emulator)
    fact = sale(
        [(metrc_tag(1), 1, "each", 1000)], customer="patient", patient_license="PT-55512345"
    )
    metrc.report_sale(fact, external_number="43", request_id="r2")
    (receipt,) = emulator.world.receipts(LICENSE)
    assert receipt["SalesCustomerType"] == "Patient"
    assert receipt["PatientLicenseNumber"] == "PT-55512345"
    (exchange,) = metrc.take_exchanges()
    assert "PT-55512345" not in exchange.request_body and "•••2345" in exchange.request_body


def test_find_receipt_by_external_number(emulator):
    metrc = adapter(emulator)
    assert metrc.find_receipt("77") is None
    metrc.report_sale(sale([(metrc_tag(1), 1, "each", 1500)]), external_number="77", request_id="x")
    found = metrc.find_receipt("77")
    assert found.external_number == "77" and found.line_count == 1 and found.total_cents == 1500
    assert [e.outcome for e in metrc.take_exchanges()] == ["not_found", "ok", "found"]


def test_void_archives_and_is_idempotent(emulator):
    metrc = adapter(emulator)
    sent = metrc.report_sale(sale([(metrc_tag(1), 3, "each", 3000)]), external_number="5",
                             request_id="x")  # fmt: skip
    metrc.void_sale({}, sale_state_id=sent.state_id, request_id="y")
    metrc.void_sale({}, sale_state_id=sent.state_id, request_id="y")
    (receipt,) = emulator.world.receipts(LICENSE)
    assert receipt["ArchivedDate"] is not None
    assert emulator.world.facilities[LICENSE].packages[metrc_tag(1)].quantity == 10
    assert metrc.find_receipt("5").voided


def test_return_puts_the_corrected_receipt_and_archives_when_all_came_back(emulator):
    metrc = adapter(emulator)
    sent = metrc.report_sale(sale([(metrc_tag(1), 4, "each", 4000)]), external_number="6",
                             request_id="x")  # fmt: skip
    left = sale([(metrc_tag(1), 1, "each", 1000)], sale_external_number="6")
    metrc.report_return(left, sale_state_id=sent.state_id, request_id="y")
    (receipt,) = emulator.world.receipts(LICENSE)
    assert receipt["Transactions"][0]["QuantitySold"] == 1 and receipt["TotalPrice"] == Decimal(
        "10.00"
    )
    assert emulator.world.facilities[LICENSE].packages[metrc_tag(1)].quantity == 9
    nothing_left = {**left, "lines": []}
    metrc.report_return(nothing_left, sale_state_id=sent.state_id, request_id="z")
    assert emulator.world.receipts(LICENSE)[0]["ArchivedDate"] is not None


def test_adjustment_and_its_quantity_check(emulator):
    metrc = adapter(emulator)
    fact = {"tag": metrc_tag(2), "unit": "grams", "delta": -1250, "reason_code": "Waste",
            "note": None, "date": "2026-03-01"}  # fmt: skip
    progress = metrc.before_send("adjustment", fact)
    assert progress == {"quantity_before": "28.000"}
    metrc.report_adjustment(fact, request_id="a")
    assert emulator.world.facilities[LICENSE].packages[metrc_tag(2)].quantity == Decimal("26.750")
    check = metrc.confirm("adjustment", fact, external_number="ADJ-1", request_id="a",
                          progress=progress, sale_state_id=None)  # fmt: skip
    assert check.landed is True


def test_adjustment_reason_rules_come_back_as_row_errors(emulator):
    metrc = adapter(emulator)
    fact = {"tag": metrc_tag(1), "unit": "each", "delta": -1, "reason_code": "Theft",
            "note": None, "date": "2026-03-01"}  # fmt: skip
    with pytest.raises(Rejected, match="row 0: Adjustment reason Theft requires a note"):
        metrc.report_adjustment(fact, request_id="a")
    with pytest.raises(Rejected, match="no Metrc adjustment reason"):
        metrc.report_adjustment({**fact, "reason_code": None}, request_id="a")


def test_lists_receipts_for_a_day_across_pages_and_active_packages(emulator):
    metrc = adapter(emulator)
    for n in range(25):
        # 23 sales on March 1 (local), 2 on March 2: the first day needs two pages of 20.
        when = "2026-03-01T20:00:00+00:00" if n < 23 else "2026-03-02T20:00:00+00:00"
        metrc.report_sale(sale([(metrc_tag(2), 100, "grams", 100)], sold_at=when),
                          external_number=f"S{n}", request_id="x")  # fmt: skip
    metrc.void_sale({}, sale_state_id=metrc.find_receipt("S0").state_id, request_id="v")
    day_one = metrc.receipts_for_day(date(2026, 3, 1))
    assert {r.external_number for r in day_one} == {f"S{n}" for n in range(23)}
    assert [r.voided for r in day_one if r.external_number == "S0"] == [True]
    pages = [(r.path, r.query["pageNumber"], r.query["pageSize"])
             for r in emulator.world.requests("GET", "/sales/v2/receipts/")
             if "salesDateStart" in r.query]  # fmt: skip
    assert pages == [
        ("/sales/v2/receipts/active", "1", "20"),
        ("/sales/v2/receipts/active", "2", "20"),
        ("/sales/v2/receipts/inactive", "1", "20"),
    ]
    packages = {p.tag: p for p in metrc.active_packages()}
    assert packages[metrc_tag(1)].quantity == 10 and packages[metrc_tag(1)].unit == "each"
    assert (
        packages[metrc_tag(2)].quantity == 28000 - 2400 and packages[metrc_tag(2)].unit == "grams"
    )


def test_test_connection_names_the_facility(emulator):
    assert adapter(emulator).test_connection() == (
        f"Connected to Metrc: Pistil RiNo, license {LICENSE}."
    )
    with pytest.raises(Rejected, match="no access to license OTHER-1"):
        adapter(emulator, license_number="OTHER-1").test_connection()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"tag": "1A4-NOT-A-TAG"},
            "row 0: Package label '1A4-NOT-A-TAG' is not a valid Metrc tag.",
        ),
        ({"tag": metrc_tag(9)}, f"row 0: Package {metrc_tag(9)} is not an active package"),
        ({"unit": "grams", "quantity": 1000}, "Unit of measure Grams does not match package"),
        ({"quantity": 11}, f"Package {metrc_tag(1)} has 10 Each; cannot sell 11."),
    ],
)
def test_validation_errors_are_rejections_with_metrcs_message(emulator, change, expected):
    line = {"tag": metrc_tag(1), "quantity": 1, "unit": "each", "amount_cents": 100} | change
    fact = sale([(line["tag"], line["quantity"], line["unit"], line["amount_cents"])])
    with pytest.raises(Rejected) as caught:
        adapter(emulator).report_sale(fact, external_number="1", request_id="x")
    assert caught.value.http_status == 400
    assert expected in caught.value.message
    assert caught.value.message.startswith("Metrc rejected this sale (HTTP 400): ")
    assert emulator.world.receipts(LICENSE) == []


def test_offset_in_sales_date_time_is_refused_by_metrc(emulator):
    metrc = adapter(emulator)
    call = metrc.plan_sale(sale([(metrc_tag(1), 1, "each", 100)]), "1")
    call.body[0]["SalesDateTime"] = "2026-03-01T16:44:53-07:00"
    with pytest.raises(Rejected, match="must be the facility's local time without an offset"):
        metrc.call(call, "sale")


def test_patient_sale_without_a_card_is_refused(emulator):
    with pytest.raises(Rejected, match="PatientLicenseNumber is required for a patient sale"):
        adapter(emulator).report_sale(
            sale([(metrc_tag(1), 1, "each", 100)], customer="patient"),
            external_number="1", request_id="x",
        )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "patient", "caregiver", "refusal"),
    [
        ("Consumer", "PT-1", None, "consumer sale carries no patient"),
        ("Patient", "PT-UNKNOWN", None, "not an active patient"),
        ("Patient", "PT-1", "CG-1", "Only a caregiver"),
        ("Caregiver", "PT-1", None, "CaregiverLicenseNumber is required"),
        ("Caregiver", "CG-1", "CG-1", "not an active patient"),
        ("Caregiver", "PT-2", "CG-1", "not designated"),
    ],
)
def test_patient_and_caregiver_numbers_must_fit_the_customer_type(
    emulator, kind, patient, caregiver, refusal
):
    emulator.world.register_patient("PT-1")
    emulator.world.register_patient("PT-2")
    emulator.world.register_caregiver("CG-1", "PT-1")
    metrc = adapter(emulator)
    call = metrc.plan_sale(sale([(metrc_tag(1), 1, "each", 100)]), "5")
    call.body[0].update(
        SalesCustomerType=kind, PatientLicenseNumber=patient, CaregiverLicenseNumber=caregiver
    )
    with pytest.raises(Rejected, match=refusal) as caught:
        metrc.call(call, "sale")
    assert not any(number in caught.value.message for number in ("PT-1", "PT-2", "CG-1"))
    assert emulator.world.receipts(LICENSE) == []


def test_a_caregiver_sale_names_both_licenses(emulator):
    emulator.world.register_patient("PT-1")
    emulator.world.register_caregiver("CG-1", "PT-1")
    fact = sale([(metrc_tag(1), 1, "each", 100)], customer="caregiver",
                patient_license="PT-1", caregiver_license="CG-1")  # fmt: skip
    adapter(emulator).report_sale(fact, external_number="6", request_id="x6")
    (receipt,) = emulator.world.receipts(LICENSE)
    assert (receipt["SalesCustomerType"], receipt["PatientLicenseNumber"]) == ("Caregiver", "PT-1")
    assert receipt["CaregiverLicenseNumber"] == "CG-1"


def test_bad_user_key_is_unauthorized_with_the_plain_text_body(emulator):
    with pytest.raises(Unauthorized) as caught:
        adapter(emulator, user_key="wrong").report_sale(
            sale([(metrc_tag(1), 1, "each", 100)]), external_number="1", request_id="x"
        )
    assert caught.value.http_status == 401
    assert caught.value.message == (
        f"Metrc refused the credentials for license {LICENSE} (HTTP 401: Authorization denied. "
        "The API key or user key is invalid.). Reporting for this license is paused: enter a "
        "valid user key in the store's settings, then resume it."
    )


def test_another_licenses_receipt_is_401_not_404(emulator):
    emulator.world.add_metrc_facility("OTHER-1", vendor_key=VENDOR_KEY, user_key="k2")
    emulator.world.add_package("OTHER-1", metrc_tag(5), 5, "Each")
    other = adapter(emulator, user_key="k2", license_number="OTHER-1")
    sent = other.report_sale(sale([(metrc_tag(5), 1, "each", 100)]), external_number="9",
                             request_id="x")  # fmt: skip
    with pytest.raises(Unauthorized, match="HTTP 401"):
        adapter(emulator).void_sale({}, sale_state_id=sent.state_id, request_id="y")


def test_missing_permission_is_403_and_pauses(emulator):
    emulator.world.add_metrc_facility(LICENSE, vendor_key=VENDOR_KEY, user_key="readonly",
                                      permissions=())  # fmt: skip
    with pytest.raises(Unauthorized) as caught:
        adapter(emulator, user_key="readonly").report_sale(
            sale([(metrc_tag(1), 1, "each", 100)]), external_number="1", request_id="x"
        )
    assert caught.value.http_status == 403
    assert "User does not have the required permission: Manage Sales." in caught.value.message
    assert "give the Metrc user the sales permissions, then resume it" in caught.value.message


def test_429_carries_retry_after(emulator):
    emulator.fail("429", match="POST /sales", retry_after=30)
    with pytest.raises(TryLater) as caught:
        adapter(emulator).report_sale(sale([(metrc_tag(1), 1, "each", 100)]),
                                      external_number="1", request_id="x")  # fmt: skip
    assert caught.value.retry_after == 30 and not caught.value.may_have_landed
    assert caught.value.message == (
        "Metrc asked us to slow down (HTTP 429: The limit of API calls allowed has been "
        "exceeded. Please pace the traffic of API calls.)."
    )


def test_500_is_retryable_and_may_have_landed(emulator):
    emulator.fail("500", match="POST /sales")
    with pytest.raises(TryLater) as caught:
        adapter(emulator).report_sale(sale([(metrc_tag(1), 1, "each", 100)]),
                                      external_number="1", request_id="x")  # fmt: skip
    assert caught.value.may_have_landed and caught.value.http_status == 500
    assert caught.value.message == (
        "Metrc had a server error (HTTP 500: An error has occurred.); will check and retry."
    )


def test_hang_past_the_timeout_and_dropped_connection(emulator):
    emulator.fail("hang", match="POST /sales", hang_seconds=2, landed=True)
    with pytest.raises(TryLater) as caught:
        adapter(emulator, read=0.3).report_sale(sale([(metrc_tag(1), 1, "each", 100)]),
                                                external_number="1", request_id="x")  # fmt: skip
    assert caught.value.may_have_landed
    assert caught.value.message == (
        "Metrc did not answer within 0.3 s; will check whether it recorded the report before "
        "retrying."
    )
    emulator.fail("drop", match="POST /sales", landed=True)
    with pytest.raises(TryLater) as caught:
        adapter(emulator).report_sale(sale([(metrc_tag(1), 1, "each", 100)]),
                                      external_number="2", request_id="x")  # fmt: skip
    assert caught.value.may_have_landed
    assert caught.value.message.startswith("Metrc dropped the connection before answering")
    # Both landed: the state holds them although we got no answer (why retries must ask first).
    assert {r["ExternalReceiptNumber"] for r in emulator.world.receipts(LICENSE)} == {"1", "2"}


def test_unreachable_state_surely_did_not_get_the_request():
    metrc = MetrcAdapter(base_url="http://127.0.0.1:9", license_number=LICENSE,
                         vendor_key="v", user_key="u", zone=DENVER, timeout=(0.5, 0.5))  # fmt: skip
    with pytest.raises(TryLater) as caught:
        metrc.report_sale(sale([(metrc_tag(1), 1, "each", 100)]), external_number="1",
                          request_id="x")  # fmt: skip
    assert not caught.value.may_have_landed
    assert caught.value.message == "Could not reach Metrc at 127.0.0.1:9; will retry."


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[{"row":0,"message":"Bad tag"},{"row":1,"message":"Bad unit"}]',
         "row 0: Bad tag; row 1: Bad unit"),
        ('{"Message":"No license number was specified."}', "No license number was specified."),
        ('["Package is finished.", "Too many."]', "Package is finished.; Too many."),
        ('{"Message":"Invalid.","ValidationErrors":[{"Message":"Label is required."}]}',
         "Invalid.; Label is required."),
        ("Authorization denied.", "Authorization denied."),
        ("", "HTTP 400 with an empty body"),
    ],
)  # fmt: skip
def test_every_error_shape_is_read(body, expected):
    assert error_message(400, body) == expected


def test_timestamps_use_the_facilitys_zone_not_the_servers():
    fact_time = datetime(2026, 11, 2, 6, 30, tzinfo=UTC).isoformat()
    assert local_sales_time(fact_time, ZoneInfo("America/Los_Angeles")) == "2026-11-01T22:30:00.000"
