"""BioTrack adapters (NM V3 REST and the legacy RPC) against the emulator over real HTTP."""

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from tracktrace_support import BT_PASSWORD, BT_USER, UBI, biotrack_tag

from tracktrace.base import NotSupported, Rejected, TryLater, Unauthorized
from tracktrace.biotrack.common import remember_session, rfc3339
from tracktrace.biotrack.legacy import BioTrackLegacyAdapter
from tracktrace.biotrack.v3 import BioTrackV3Adapter
from tracktrace.emulator import Emulator

LICENSE = "402-00412"
MOUNTAIN = ZoneInfo("America/Denver")


@pytest.fixture
def emulator():
    with Emulator() as emu:
        emu.world.add_biotrack_location(LICENSE, ubi=UBI, username=BT_USER, password=BT_PASSWORD)
        emu.world.add_package(LICENSE, biotrack_tag(1), 10, "Each")
        emu.world.add_package(LICENSE, biotrack_tag(2), Decimal("28"), "Grams")
        yield emu


def v3(emulator, password=BT_PASSWORD):
    remember_session((emulator.url, UBI, BT_USER), None)
    return BioTrackV3Adapter(
        base_url=emulator.url, license_number=LICENSE, ubi=UBI, username=BT_USER,
        password=password, zone=MOUNTAIN, timeout=(1.0, 0.5),
    )  # fmt: skip


def legacy(emulator, password=BT_PASSWORD):
    remember_session((emulator.legacy_url, UBI, BT_USER, "legacy"), None)
    return BioTrackLegacyAdapter(
        base_url=emulator.legacy_url, license_number=LICENSE, ubi=UBI, username=BT_USER,
        password=password, zone=MOUNTAIN, timeout=(1.0, 0.5),
    )  # fmt: skip


def sale(lines, customer="consumer", **extra):
    return {
        "sold_at": "2026-01-25T22:33:50+00:00", "business_date": "2026-01-25",
        "customer_type": customer,
        "lines": [{"line_id": n, "tag": tag, "name": "x", "quantity": q, "unit": unit,
                   "amount_cents": cents} for n, (tag, q, unit, cents) in enumerate(lines, 1)],
        **extra,
    }  # fmt: skip


def test_rfc3339_has_a_colon_in_the_offset():
    assert rfc3339("2026-01-25T22:33:50+00:00", MOUNTAIN) == "2026-01-25T15:33:50-07:00"


def test_v3_dispense_logs_in_and_sends_numbers_and_ids(emulator):
    bt = v3(emulator)
    sent = bt.report_sale(sale([(biotrack_tag(1), 2, "each", 4344), (biotrack_tag(2), 1500, "grams",
                               2000)]), external_number="42", request_id="req-1")  # fmt: skip
    (row,) = emulator.world.sales(LICENSE)
    assert sent.state_id == str(row["TransactionID"])
    assert (row["ExternalID"], row["RequestID"], row["Type"]) == ("42", "req-1", "RECREATIONAL")
    assert row["Datetime"] == "2026-01-25T15:33:50-07:00"
    assert [(i["Barcode"], i["Quantity"], i["Price"]) for i in row["Items"]] == [
        (biotrack_tag(1), Decimal(2), Decimal("43.44")),
        (biotrack_tag(2), Decimal("1.5"), Decimal("20.00")),
    ]
    assert [e.action for e in bt.take_exchanges()] == ["login", "send"]
    assert emulator.world.requests("POST", "/v1/dispense")[0].body["LocationLicense"] == LICENSE


def test_v3_medical_sale_looks_the_card_up_for_its_key(emulator):
    emulator.world.register_patient("6553690580672239")
    bt = v3(emulator)
    bt.report_sale(sale([(biotrack_tag(1), 1, "each", 100)], customer="patient",
                        patient_license="6553690580672239"), external_number="7",
                   request_id="r")  # fmt: skip
    (row,) = emulator.world.sales(LICENSE)
    assert row["Type"] == "MEDICAL"
    dispense = emulator.world.requests("POST", "/v1/dispense")[0].body
    assert dispense["PatientCardKey"] == "ck-6553690580672239"
    assert "6553690580672239" not in "".join(e.request_body or "" for e in bt.take_exchanges())


def test_v3_dispenses_a_caregiver_sale_against_the_patients_card_only(emulator):
    emulator.world.register_patient("6553690580672239")
    emulator.world.register_caregiver("6553690580679999", "6553690580672239")
    bt = v3(emulator)
    cards = {"patient_license": "6553690580672239", "caregiver_license": "6553690580679999"}
    fact = sale([(biotrack_tag(1), 1, "each", 100)], customer="caregiver", **cards)
    bt.report_sale(fact, external_number="8", request_id="r8")
    (row,) = emulator.world.sales(LICENSE)
    assert row["PatientCardID"] == "6553690580672239"
    # Dispensed against the caregiver's own card, the state would count the wrong allotment.
    with pytest.raises(Rejected, match="caregiver's card; dispense against the patient's card"):
        bt.report_sale({**fact, "patient_card_key": "ck-6553690580679999"},
                       external_number="9", request_id="r9")  # fmt: skip


def test_v3_an_inactive_card_is_refused_before_dispensing(emulator):
    emulator.world.register_patient("6553690580670000", active=False)
    bt = v3(emulator)
    fact = sale([(biotrack_tag(1), 1, "each", 100)], customer="patient",
                patient_license="6553690580670000")  # fmt: skip
    with pytest.raises(Rejected, match="card is not active") as caught:
        bt.report_sale(fact, external_number="10", request_id="r10")
    assert "6553690580670000" not in caught.value.message
    assert emulator.world.requests("POST", "/v1/dispense") == []


def test_v3_rejects_an_offset_without_colon_and_string_numbers(emulator):
    bt = v3(emulator)
    call = bt.plan_sale(sale([(biotrack_tag(1), 1, "each", 100)]), "1", "r")
    call.body["Datetime"] = "2026-01-25T15:33:50-0700"
    with pytest.raises(Rejected) as caught:
        bt.call(call, "sale")
    assert caught.value.message == (
        'BioTrack rejected this sale (HTTP 400): parsing time "2026-01-25T15:33:50-0700" as '
        '"2006-01-02T15:04:05Z07:00": cannot parse "-0700" as "Z07:00"'
    )
    call.body["Datetime"] = "2026-01-25T15:33:50-07:00"
    call.body["Items"][0]["Price"] = "1.00"
    with pytest.raises(Rejected, match="cannot unmarshal string into Go struct field Item.Items"):
        bt.call(call, "sale")
    with pytest.raises(Rejected, match="has 10 remaining; cannot dispense 11"):
        bt.report_sale(sale([(biotrack_tag(1), 11, "each", 100)]), external_number="2",
                       request_id="r")  # fmt: skip
    assert emulator.world.sales(LICENSE) == []


def test_v3_relogs_in_when_the_session_expired(emulator):
    bt = v3(emulator)
    bt.report_sale(sale([(biotrack_tag(1), 1, "each", 100)]), external_number="1", request_id="a")
    emulator.world.expire_sessions()
    bt.report_sale(sale([(biotrack_tag(1), 1, "each", 100)]), external_number="2", request_id="b")
    assert [e.outcome for e in bt.take_exchanges()] == ["ok", "ok", "session_expired", "ok", "ok"]
    assert len(emulator.world.sales(LICENSE)) == 2


def test_v3_bad_password_is_unauthorized(emulator):
    with pytest.raises(Unauthorized) as caught:
        v3(emulator, password="wrong").test_connection()
    assert caught.value.message == (
        f"BioTrack refused the credentials for license {LICENSE} (HTTP 401: Invalid UBI, "
        "username or password.). Reporting for this license is paused: enter a valid username "
        "and password in the store's settings, then resume it."
    )


def test_v3_void_refund_list_lookup_and_packages(emulator):
    bt = v3(emulator)
    assert bt.test_connection() == f"Connected to BioTrack (New Mexico V3), license {LICENSE}."
    first = bt.report_sale(sale([(biotrack_tag(1), 3, "each", 3000)]), external_number="1",
                           request_id="a")  # fmt: skip
    second = bt.report_sale(sale([(biotrack_tag(1), 2, "each", 2000)]), external_number="2",
                            request_id="b")  # fmt: skip
    bt.void_sale({}, sale_state_id=first.state_id, request_id="c")
    returned = sale([(biotrack_tag(1), 1, "each", 1000)], returned=[
        {"line_id": 1, "tag": biotrack_tag(1), "name": "x", "quantity": 1, "unit": "each",
         "amount_cents": 1000}], sale_external_number="2")  # fmt: skip
    bt.report_return(returned, sale_state_id=second.state_id, request_id="d")
    receipts = {r.external_number: r for r in bt.receipts_for_day(date(2026, 1, 25))}
    assert receipts["1"].voided and not receipts["2"].voided
    assert (receipts["2"].line_count, receipts["2"].total_cents) == (1, 1000)
    assert bt.find_receipt("2", fact=sale([])).state_id == second.state_id
    assert bt.find_receipt("99", fact=sale([])) is None
    packages = {p.tag: p for p in bt.active_packages()}
    assert packages[biotrack_tag(1)].quantity == 9 and packages[biotrack_tag(2)].quantity == 28000
    with pytest.raises(Rejected, match="is already void"):
        bt.void_sale({}, sale_state_id=first.state_id, request_id="e")


def test_v3_has_no_adjustment_call(emulator):
    with pytest.raises(NotSupported, match="Record this adjustment in BioTrack by hand"):
        v3(emulator).report_adjustment({"tag": biotrack_tag(1), "delta": -1}, request_id="a")


def test_legacy_dispense_void_refund_and_sync(emulator):
    bt = legacy(emulator)
    assert bt.test_connection() == f"Connected to BioTrack (legacy API), license {LICENSE}."
    first = bt.report_sale(sale([(biotrack_tag(1), 2, "each", 3500)]), external_number="11",
                           request_id="n1")  # fmt: skip
    dispense = emulator.world.requests("POST", "/serverjson.asp")[-1].body
    assert dispense["API"] == "4.0" and dispense["action"] == "sale_dispense"
    assert dispense["data"] == [{"barcodeid": biotrack_tag(1), "quantity": Decimal(2),
                                 "price": "35.00", "item_number": "11"}]  # fmt: skip
    assert dispense["nonce"] == "n1" and isinstance(dispense["sale_time"], Decimal)
    second = bt.report_sale(sale([(biotrack_tag(2), 2000, "grams", 2000)]), external_number="12",
                            request_id="n2")  # fmt: skip
    bt.void_sale({}, sale_state_id=first.state_id, request_id="n3")
    refund = sale([], returned=[{"line_id": 1, "tag": biotrack_tag(2), "name": "x",
                                 "quantity": 500, "unit": "grams", "amount_cents": 500}],
                  sale_external_number="12")  # fmt: skip
    bt.report_return(refund, sale_state_id=second.state_id, request_id="n4")
    receipts = {r.external_number: r for r in bt.receipts_for_day(date(2026, 1, 25))}
    assert receipts["11"].voided
    assert (receipts["12"].line_count, receipts["12"].total_cents) == (1, 1500)
    assert receipts["12"].lines == ((biotrack_tag(2), "1.5"),)
    with pytest.raises(Rejected, match="Sale has already been voided. \\(error code 8\\)"):
        bt.void_sale({}, sale_state_id=first.state_id, request_id="n5")


def test_legacy_errors_arrive_with_http_200_and_are_still_errors(emulator):
    bt = legacy(emulator)
    with pytest.raises(Rejected) as caught:
        bt.report_sale(sale([(biotrack_tag(9), 1, "each", 100)]), external_number="1",
                       request_id="n")  # fmt: skip
    assert caught.value.http_status == 200
    assert caught.value.message == (
        f"BioTrack rejected this sale: You do not currently have possession of identifier "
        f"{biotrack_tag(9)}. (error code 602)"
    )


def test_legacy_relogs_in_on_session_expired_and_strips_a_leaked_header(emulator):
    bt = legacy(emulator)
    emulator.world.leak_content_type = True
    bt.report_sale(sale([(biotrack_tag(1), 1, "each", 100)]), external_number="1", request_id="a")
    emulator.world.expire_sessions()
    bt.report_sale(sale([(biotrack_tag(1), 1, "each", 100)]), external_number="2", request_id="b")
    outcomes = [(e.action, e.outcome) for e in bt.take_exchanges()]
    assert outcomes == [("login", "ok"), ("send", "ok"), ("send", "error"), ("login", "ok"),
                        ("send", "ok")]  # fmt: skip
    assert len(emulator.world.sales(LICENSE)) == 2


def test_legacy_bad_login_pauses(emulator):
    with pytest.raises(Unauthorized, match=r"BioTrack refused the login for license 402-00412 "
                       r"\(Invalid login.\)"):  # fmt: skip
        legacy(emulator, password="nope").test_connection()


def test_legacy_nonce_replay_tells_whether_a_lost_answer_landed(emulator):
    bt = legacy(emulator)
    fact = sale([(biotrack_tag(1), 1, "each", 100)])
    check = dict(kind="sale", fact=fact, external_number="5", progress={}, sale_state_id=None)
    assert bt.confirm(request_id="never-sent", **check).landed is False
    emulator.fail("drop", match="POST /serverjson.asp", landed=True)
    bt.session()
    with pytest.raises(TryLater) as caught:
        bt.report_sale(fact, external_number="5", request_id="lost-answer")
    assert caught.value.may_have_landed
    found = bt.confirm(request_id="lost-answer", **check)
    assert found.landed is True
    assert found.state_id == str(emulator.world.sales(LICENSE)[0]["transactionid"])
    # Sending the same nonce again gets the first answer back, not a second sale.
    again = bt.report_sale(fact, external_number="5", request_id="lost-answer")
    assert again.state_id == found.state_id and len(emulator.world.sales(LICENSE)) == 1


def test_legacy_adjustment_removes_stock_only(emulator):
    bt = legacy(emulator)
    bt.report_adjustment({"tag": biotrack_tag(2), "unit": "grams", "delta": -2500,
                          "reason_code": "4", "note": "spilled"}, request_id="adj")  # fmt: skip
    assert emulator.world.facilities[LICENSE].packages[biotrack_tag(2)].quantity == Decimal("25.5")
    (adjustment,) = emulator.world.facilities[LICENSE].adjustments
    assert adjustment == {"barcodeid": biotrack_tag(2), "quantity": "2.500000",
                          "quantity_uom": "g", "type": "4", "reason": "spilled"}  # fmt: skip
    with pytest.raises(NotSupported, match="records adjustments that remove stock only"):
        bt.report_adjustment({"tag": biotrack_tag(2), "unit": "grams", "delta": 100},
                             request_id="adj2")  # fmt: skip


def test_legacy_server_error_is_retryable(emulator):
    emulator.fail("503", match="POST /serverjson.asp")
    with pytest.raises(TryLater, match="BioTrack had a server error \\(HTTP 503\\)"):
        legacy(emulator).test_connection()
