"""Medical card lookups behind the one adapter interface, against the emulator over real HTTP."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from tracktrace_support import BT_PASSWORD, BT_USER, UBI, USER_KEY, VENDOR_KEY

from tracktrace.base import CardAnswer, NotSupported, Rejected, TryLater, Unauthorized
from tracktrace.biotrack.common import remember_session
from tracktrace.biotrack.legacy import BioTrackLegacyAdapter
from tracktrace.biotrack.v3 import BioTrackV3Adapter
from tracktrace.dryrun import DryRunAdapter
from tracktrace.emulator import Emulator
from tracktrace.metrc import MetrcAdapter

BT_LICENSE = "402-00412"
METRC_LICENSE = "402R-00123"
MOUNTAIN = ZoneInfo("America/Denver")
EXPIRES = date(2027, 9, 16)


@pytest.fixture
def emulator():
    with Emulator() as emu:
        emu.world.add_biotrack_location(BT_LICENSE, ubi=UBI, username=BT_USER, password=BT_PASSWORD)
        emu.world.add_metrc_facility(METRC_LICENSE, vendor_key=VENDOR_KEY, user_key=USER_KEY)
        emu.world.register_patient("6162379089849357", expires=EXPIRES)
        emu.world.register_patient("6553690580672239", expires=date(2024, 1, 31), active=False)
        yield emu


def v3(emulator):
    remember_session((emulator.url, UBI, BT_USER), None)
    return BioTrackV3Adapter(
        base_url=emulator.url, license_number=BT_LICENSE, ubi=UBI, username=BT_USER,
        password=BT_PASSWORD, zone=MOUNTAIN, timeout=(1.0, 0.5),
    )  # fmt: skip


def legacy(emulator):
    remember_session((emulator.legacy_url, UBI, BT_USER, "legacy"), None)
    return BioTrackLegacyAdapter(
        base_url=emulator.legacy_url, license_number=BT_LICENSE, ubi=UBI, username=BT_USER,
        password=BT_PASSWORD, zone=MOUNTAIN, timeout=(1.0, 0.5),
    )  # fmt: skip


def metrc(emulator, state="CO", user_key=USER_KEY):
    return MetrcAdapter(
        base_url=emulator.url, license_number=METRC_LICENSE, vendor_key=VENDOR_KEY,
        user_key=user_key, zone=MOUNTAIN, timeout=(1.0, 0.5), state=state,
    )  # fmt: skip


def test_biotrack_v3_looks_a_card_up_with_its_expiry_and_key(emulator):
    answer = v3(emulator).card_status("6162-3790-8984-9357")
    assert answer == CardAnswer(active=True, expires=EXPIRES, card_key="ck-6162379089849357")
    (lookup,) = emulator.world.requests("POST", "/v1/patient/lookup")
    assert lookup.body == {"CardID": "6162379089849357", "LocationLicense": BT_LICENSE}


def test_biotrack_v3_says_why_a_card_is_refused(emulator):
    inactive = v3(emulator).card_status("6553690580672239")
    assert not inactive.active and inactive.expires == date(2024, 1, 31)
    assert inactive.reason == "BioTrack says this card is not active (it expired on Jan 31, 2024)."
    with pytest.raises(Rejected, match="BioTrack has no patient card"):
        v3(emulator).card_status("0000000000000000")


def test_biotrack_v3_down_is_try_later_and_keys_are_masked(emulator):
    bt = v3(emulator)
    emulator.fail("503", match="POST /v1/patient/lookup")
    with pytest.raises(TryLater, match="server error"):
        bt.card_status("6162379089849357")
    kept = "".join((e.request_body or "") + (e.response_body or "") for e in bt.take_exchanges())
    assert "6162379089849357" not in kept


def test_biotrack_legacy_card_lookup(emulator):
    bt = legacy(emulator)
    assert bt.card_status("6162379089849357").active
    inactive = bt.card_status("6553690580672239")
    assert not inactive.active and "not active" in inactive.reason
    with pytest.raises(Rejected, match="BioTrack has no patient card"):
        bt.card_status("0000000000000000")


def test_metrc_patient_status_where_the_state_offers_it(emulator):
    emulator.world.register_patient("CO-PT-1", active=True)
    assert metrc(emulator).card_status("co-pt-1").active
    (call,) = emulator.world.requests("GET", "/patients/v2/statuses/")
    assert call.path == "/patients/v2/statuses/CO-PT-1" and call.query["licenseNumber"]
    emulator.world.register_patient("CO-PT-1", active=False)
    answer = metrc(emulator).card_status("CO-PT-1")
    assert not answer.active and answer.reason == "Metrc says this card is not active."
    with pytest.raises(Rejected, match="Metrc has no patient card"):
        metrc(emulator).card_status("CO-PT-2")
    with pytest.raises(Unauthorized):
        metrc(emulator, user_key="wrong").card_status("CO-PT-1")


def test_metrc_in_a_state_without_patient_status_offers_no_lookup(emulator):
    with pytest.raises(NotSupported, match="no card lookup in OR"):
        metrc(emulator, state="OR").card_status("OR-1")
    assert not emulator.world.requests("GET", "/patients/")


def test_the_dry_run_asks_nobody(emulator):
    with pytest.raises(NotSupported, match="Dry run"):
        DryRunAdapter(v3(emulator)).card_status("6162379089849357")
    assert not emulator.world.requests()
