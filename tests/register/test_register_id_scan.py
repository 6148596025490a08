"""Reading the AAMVA text a license scanner types, and who may buy: age, ID and card expiry."""

from datetime import date, timedelta

import pytest
from register_support import license_text

from models.people.id_scan import (
    CheckInRefused,
    IdScanError,
    check_eligibility,
    looks_like_aamva,
    parse_aamva,
)
from models.rules.packs import load_pack
from support import store_today

TODAY = date(2026, 6, 15)


def years_before(day: date, years: int, days: int = 0) -> date:
    return day.replace(year=day.year - years) - timedelta(days=days)


def test_a_current_license_is_read_as_the_scanner_types_it():
    text = license_text(birth=date(1990, 3, 7), expires=date(2029, 3, 7), state="NM")
    doc = parse_aamva(text)
    assert (doc.first_name, doc.last_name, doc.middle_name) == ("Michael", "Sample", "John")
    assert doc.date_of_birth == date(1990, 3, 7)
    assert doc.expires == date(2029, 3, 7)
    assert (doc.id_number, doc.state, doc.aamva_version) == ("T64235789", "NM", 10)


@pytest.mark.parametrize("separator", ["\n", "\r\n", "\n\n", "\x1e"])
def test_enter_keys_and_record_separators_from_a_keyboard_wedge_all_parse(separator):
    text = license_text(birth=date(1985, 12, 31), separator=separator)
    assert parse_aamva(text).date_of_birth == date(1985, 12, 31)


def test_a_scanner_that_drops_separators_still_parses():
    text = license_text(birth=date(1985, 12, 31)).replace("\n", "").replace("\r", "")
    doc = parse_aamva(text)
    assert doc.date_of_birth == date(1985, 12, 31)
    assert doc.id_number == "T64235789"


def test_the_2000_standard_writes_year_first_and_the_name_in_one_field():
    text = (
        "@\n\x1e\rAAMVA6360100101DL00290193DLDAQ123456789\nDAAPUBLIC,JOHN,Q\n"
        "DAG123 MAIN ST\nDAIANYTOWN\nDAJFL\nDBA20300101\nDBB19800215\nDBC1\r"
    )
    doc = parse_aamva(text)
    assert (doc.first_name, doc.last_name) == ("John", "Public")
    assert doc.date_of_birth == date(1980, 2, 15)
    assert doc.expires == date(2030, 1, 1)


def test_a_canadian_licence_writes_dates_year_first():
    text = license_text(state="ON").replace("DCGUSA", "DCGCAN")
    birth = years_before(store_today(), 30)
    text = text.replace(f"DBB{birth:%m%d%Y}", f"DBB{birth:%Y%m%d}")
    assert parse_aamva(text).date_of_birth == birth


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "Scan the barcode"),
        ("1A4060300003E9D000001234", "not a driver's license"),
        (license_text().replace("DBB", "DXX"), "date of birth"),
        (license_text().replace("DAJCO", "DAJ"), "issuing state"),
    ],
)
def test_unreadable_scans_say_what_is_wrong(text, message):
    with pytest.raises(IdScanError, match=message):
        parse_aamva(text)


def test_a_license_is_told_apart_from_a_package_tag():
    assert looks_like_aamva(license_text())
    assert not looks_like_aamva("1A4060300003E9D000001234")
    assert not looks_like_aamva("6124030000005000")


def eligibility(birth, **kwargs):
    kwargs.setdefault("id_expires", TODAY + timedelta(days=100))
    return check_eligibility(birth=birth, today=TODAY, **kwargs)


def test_21_today_may_buy_adult_use():
    assert eligibility(years_before(TODAY, 21)).customer_class == "adult_use"


def test_under_21_is_refused_without_a_medical_card():
    with pytest.raises(CheckInRefused, match="Under 21 \\(age 20\\)"):
        eligibility(years_before(TODAY, 21, days=-1))


def test_a_medical_patient_aged_18_to_20_buys_as_medical():
    result = eligibility(
        years_before(TODAY, 19), card_expires=TODAY + timedelta(days=30), sells_medical=True
    )
    assert (result.customer_class, result.age) == ("medical", 19)


def test_under_18_is_refused_even_with_a_medical_card():
    with pytest.raises(CheckInRefused, match="Under 18 \\(age 17\\): .*even with a medical card"):
        eligibility(
            years_before(TODAY, 17), card_expires=TODAY + timedelta(days=30), sells_medical=True
        )


def test_an_expired_id_is_refused():
    with pytest.raises(CheckInRefused, match="ID expired on Jun 14, 2026"):
        eligibility(years_before(TODAY, 40), id_expires=TODAY - timedelta(days=1))


def test_an_id_expiring_today_is_still_valid():
    assert eligibility(years_before(TODAY, 40), id_expires=TODAY).customer_class == "adult_use"


def test_an_expired_medical_card_presented_is_refused():
    with pytest.raises(CheckInRefused, match="Medical card expired on Jun 1, 2026"):
        eligibility(
            years_before(TODAY, 40),
            card_expires=date(2026, 6, 1),
            card_presented=True,
            sells_medical=True,
        )


def test_an_expired_card_on_file_sells_adult_use_to_an_adult_with_a_notice():
    result = eligibility(years_before(TODAY, 40), card_expires=date(2026, 6, 1), sells_medical=True)
    assert result.customer_class == "adult_use"
    assert "Medical card expired on Jun 1, 2026" in result.notice


def test_an_expired_card_does_not_let_a_19_year_old_buy():
    with pytest.raises(CheckInRefused, match="Medical card expired.*Under 21"):
        eligibility(years_before(TODAY, 19), card_expires=date(2026, 6, 1), sells_medical=True)


def test_an_adult_use_only_store_refuses_a_19_year_old_patient():
    with pytest.raises(CheckInRefused, match="adult-use only"):
        eligibility(years_before(TODAY, 19), card_expires=TODAY + timedelta(days=30))


def test_a_medical_only_store_refuses_adults_without_a_card():
    with pytest.raises(CheckInRefused, match="medical patients only"):
        eligibility(years_before(TODAY, 40), sells_adult_use=False, sells_medical=True)


def test_minimum_ages_come_from_the_states_pack():
    pack = load_pack("NM")
    with pytest.raises(CheckInRefused, match="Under 21"):
        eligibility(years_before(TODAY, 20), pack=pack)
