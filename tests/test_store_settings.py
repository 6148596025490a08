"""The back office's store settings: hours, register discounts, pickup, local taxes, reporting."""

from datetime import date, time

import pytest
from sqlalchemy import select
from tracktrace_support import FAST, USER_KEY, VENDOR_KEY, point_at_metrc

from extensions import db
from models.infra.audit import AuditEvent
from models.online.pickup import opening_hours
from models.stores.store import Store
from support import base_config
from tracktrace.emulator import Emulator

HOURS = {f"{day}_{edge}": value for day in ("mon", "tue", "wed", "thu", "fri")
         for edge, value in (("opens", "09:00"), ("closes", "21:00"))}  # fmt: skip


@pytest.fixture
def app_config(database_uri):
    config = base_config(database_uri)
    config.update(FAST)
    return config


@pytest.fixture
def manager(store, make_user):
    return make_user(store, role="manager")


@pytest.fixture
def manager_client(client, manager, login_as):
    login_as(client, manager)
    return client


def fresh(store) -> Store:
    db.session.expire_all()
    return db.session.get(Store, store.id)


def changes(store) -> list[AuditEvent]:
    return db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.store_id == store.id, AuditEvent.action == "store.settings_changed"
        )
    ).all()


def test_budtenders_cannot_reach_settings(client, store, make_user, login_as):
    login_as(client, make_user(store))
    assert client.get("/manage/settings").status_code == 403
    assert client.post("/manage/settings/register", data={}).status_code == 403
    assert client.post("/manage/settings/test-connection").status_code == 403


def test_settings_page_shows_every_section_and_no_secrets(manager_client, store):
    store.set_tracktrace_credentials({"vendor_key": "vk-secret-123", "user_key": "uk-secret-456"})
    db.session.commit()
    page = manager_client.get("/manage/settings").get_data(as_text=True)
    for heading in ("Store and opening hours", "Register discounts", "Online ordering and pickup",
                    "Local taxes", "State reporting", "Test connection"):  # fmt: skip
        assert heading in page
    assert "vk-secret-123" not in page and "uk-secret-456" not in page
    assert "Saved" in page


def test_hours_save_drive_pickup_slots_and_summary(manager_client, store):
    data = {"name": "Mile High Greens", "phone": "303-555-0100", **HOURS,
            "sat_opens": "10:00", "sat_closes": "18:30"}  # fmt: skip
    response = manager_client.post("/manage/settings/store", data=data)
    assert response.status_code == 303
    saved = fresh(store)
    assert saved.name == "Mile High Greens"
    assert saved.hours["summary"] == "Mon–Fri 9 am – 9 pm · Sat 10 am – 6:30 pm · Sun closed"
    assert opening_hours(saved, date(2026, 11, 30)) == [(time(9), time(21))]  # a Monday
    assert opening_hours(saved, date(2026, 12, 6)) == []  # a Sunday
    [event] = changes(store)
    assert event.reason == "Store details: name, phone, opening hours"
    page = manager_client.get("/manage/settings").get_data(as_text=True)
    assert 'value="10:00"' in page and "Store details saved." in page
    dashboard = manager_client.get("/manage/").get_data(as_text=True)
    assert "<strong>Settings changed</strong> · Manager Person" in dashboard


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"mon_opens": "09:00", "mon_closes": ""}, "Give both times for Monday"),
        ({"tue_opens": "25:00", "tue_closes": "26:00"}, "Use a 24-hour time"),
        ({"wed_opens": "10:00", "wed_closes": "10:00"}, "Wednesday opens and closes at the same"),
        ({"name": ""}, "This field is required."),
    ],
)
def test_bad_hours_are_refused_with_a_reason(manager_client, store, fields, message):
    data = {"name": store.name, **fields}
    response = manager_client.post("/manage/settings/store", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert fresh(store).hours == {} and changes(store) == []


def test_register_thresholds_feed_the_discount_rule(manager_client, store):
    response = manager_client.post(
        "/manage/settings/register", data={"approval_percent": "12.5", "approval_amount": "35"}
    )
    assert response.status_code == 303
    saved = fresh(store)
    assert (saved.discount_approval_bp, saved.discount_approval_cents) == (1250, 3500)
    from models.sales.discounts import needs_approval

    assert not needs_approval(saved, 10000, 1250)
    assert needs_approval(saved, 10000, 1251)
    bad = manager_client.post(
        "/manage/settings/register", data={"approval_percent": "101", "approval_amount": "1.234"}
    )
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "between 0 and 100" in text and "at most 2 decimals" in text


def test_htmx_form_errors_answer_422(manager_client, store):
    response = manager_client.post(
        "/manage/settings/online",
        data={"slot_minutes": "2", "slot_capacity": "0"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "Number must be between 5 and 240." in response.get_data(as_text=True)


def test_online_ordering_settings_save(manager_client, store):
    response = manager_client.post(
        "/manage/settings/online",
        data={
            "slot_minutes": "20",
            "slot_capacity": "4",
            "lead_minutes": "15",
            "grace_minutes": "45",
        },  # fmt: skip
    )
    assert response.status_code == 303
    saved = fresh(store)
    assert saved.online_ordering is False  # the box was not ticked
    assert (saved.pickup_slot_minutes, saved.pickup_slot_capacity) == (20, 4)
    assert (saved.pickup_lead_minutes, saved.pickup_grace_minutes) == (15, 45)


def test_local_taxes_are_exact_and_capped_by_the_state(manager_client, store):
    response = manager_client.post(
        "/manage/settings/taxes", data={"local_sales": "4.81", "local_marijuana": "7.875"}
    )
    assert response.status_code == 303
    saved = fresh(store)
    assert saved.local_tax_rates_bp == {"local_sales": "481", "local_marijuana": "787.5"}
    assert str(saved.local_tax_rates()["local_marijuana"]) == "787.5"
    bad = manager_client.post("/manage/settings/taxes", data={"local_sales": "abc"})
    assert bad.status_code == 422 and "as a number" in bad.get_data(as_text=True)


@pytest.mark.parametrize(
    ("state", "field", "too_high", "message"),
    [
        ("NM", "gross_receipts", "25", "at most 10%"),
        ("CO", "local_sales", "12.5", "at most 9%"),
        ("MA", "local_option", "3.001", "at most 3%"),
    ],
)
def test_a_local_rate_above_the_states_cap_is_refused_naming_the_cap(
    client, make_store, make_user, login_as, state, field, too_high, message
):
    store = make_store(state=state, rule_pack=state)
    login_as(client, make_user(store, role="manager"))
    response = client.post("/manage/settings/taxes", data={field: too_high})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert fresh(store).local_tax_rates_bp == {}
    assert changes(store) == []


def test_a_saved_rate_above_the_cap_is_flagged_where_it_can_be_fixed(
    client, make_store, make_user, login_as
):
    store = make_store(state="NM", rule_pack="NM", local_tax_rates_bp={"gross_receipts": "2500"})
    login_as(client, make_user(store, role="manager"))
    page = client.get("/manage/settings").get_data(as_text=True)
    assert "The saved rate is above the 10% the state allows" in page


def test_reporting_needs_credentials_to_go_live(manager_client, store):
    response = manager_client.post(
        "/manage/settings/reporting", data={"system": "metrc", "mode": "live", "api": "v3"}
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Going live needs: Metrc integrator (vendor) key, Metrc user key." in text
    assert fresh(store).tracktrace_dry_run is True


def test_reporting_saves_encrypted_keys_and_blank_keeps_them(manager_client, store):
    data = {"system": "metrc", "mode": "live", "base_url": "https://sandbox-api-co.metrc.com",
            "api": "v3", "license_number": "402R-00042", "vendor_key": "vk-1",
            "user_key": "uk-1"}  # fmt: skip
    assert manager_client.post("/manage/settings/reporting", data=data).status_code == 303
    saved = fresh(store)
    assert saved.tracktrace_credentials() == {"vendor_key": "vk-1", "user_key": "uk-1"}
    assert b"vk-1" not in saved.tracktrace_credentials_enc
    assert saved.tracktrace_dry_run is False
    assert saved.tracktrace_base_url == "https://sandbox-api-co.metrc.com"
    assert saved.tracktrace_license == "402R-00042"
    data.update(vendor_key="", user_key="uk-2")
    assert manager_client.post("/manage/settings/reporting", data=data).status_code == 303
    assert fresh(store).tracktrace_credentials() == {"vendor_key": "vk-1", "user_key": "uk-2"}
    reasons = [event.reason for event in changes(store)]
    assert reasons == [
        "State reporting: mode, address, license, credentials",
        "State reporting: credentials",
    ]
    assert not any("uk-" in reason or "vk-" in reason for reason in reasons)


def test_test_connection_button_answers_in_place(manager_client, store):
    with Emulator() as emulator:
        point_at_metrc(store, emulator)
        response = manager_client.post(
            "/manage/settings/test-connection", headers={"HX-Request": "true"}
        )
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert 'id="connection-check"' in text and "<html" not in text
        assert f"Connected to Metrc: {store.name}, license {store.license_number}." in text
        emulator.fail("401", match="GET /facilities")
        refused = manager_client.post(
            "/manage/settings/test-connection", headers={"HX-Request": "true"}
        ).get_data(as_text=True)
        assert "Metrc refused the credentials" in refused
        assert VENDOR_KEY not in refused and USER_KEY not in refused


def test_test_connection_without_credentials_says_what_to_do(manager_client, store):
    store.tracktrace_dry_run = False
    db.session.commit()
    response = manager_client.post("/manage/settings/test-connection")
    assert response.status_code == 303
    page = manager_client.get("/manage/settings").get_data(as_text=True)
    assert "has no Metrc credentials" in page and "Settings" in page


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-0.5"])
def test_numbers_that_are_not_amounts_are_refused(manager_client, store, text):
    response = manager_client.post(
        "/manage/settings/register", data={"approval_percent": text, "approval_amount": text}
    )
    assert response.status_code == 422
    assert fresh(store).discount_approval_bp == 1000


def test_cash_limits_are_store_settings(manager_client, store, make_user):
    page = manager_client.get("/manage/settings").get_data(as_text=True)
    assert 'id="cash"' in page and 'value="5.00"' in page and 'value="100.00"' in page
    response = manager_client.post(
        "/manage/settings/cash",
        data={"over_short_amount": "7.50", "refund_amount": "75", "refund_days": "3"},
    )
    assert response.status_code == 303
    saved = fresh(store)
    assert (saved.drawer_variance_cents, saved.refund_approval_cents) == (750, 7500)
    assert saved.refund_approval_days == 3
    [event] = changes(store)
    assert event.reason == ("Cash: over/short allowed, refund approval amount, refund approval age")
    page = manager_client.get("/manage/settings").get_data(as_text=True)
    assert 'value="7.50"' in page and "Cash saved." in page
    # The allowance is what the closing count is held to.
    from models.sales.cash_drawer import count_drawer, open_drawer

    clerk = make_user(saved)
    drawer = open_drawer(saved, "Till", 10_000, clerk)
    assert count_drawer(drawer, {100: 93}, clerk).status == "closed"  # $7.00 short
    again = open_drawer(saved, "Till 2", 10_000, clerk)
    assert count_drawer(again, {100: 92}, clerk).awaiting_approval  # $8.00 short


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"over_short_amount": "-1"}, "must be positive"),
        ({"over_short_amount": "2.345"}, "at most 2 decimals"),
        ({"refund_amount": "lots"}, "as a number"),
        ({"refund_amount": "20000"}, "between $0 and $10,000"),
        ({"refund_days": "-2"}, "between 0 and 365 days"),
        ({"refund_days": "400"}, "between 0 and 365 days"),
        ({"refund_days": "2.5"}, "whole number of days"),
        ({"over_short_amount": ""}, "Enter the amount"),
    ],
)
def test_bad_cash_limits_are_refused_with_a_reason(manager_client, store, fields, message):
    data = {"over_short_amount": "5", "refund_amount": "100", "refund_days": "7", **fields}
    response = manager_client.post("/manage/settings/cash", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    saved = fresh(store)
    assert (saved.drawer_variance_cents, saved.refund_approval_cents) == (500, 10000)
    assert changes(store) == []


def test_budtenders_cannot_change_cash_limits(client, store, make_user, login_as):
    login_as(client, make_user(store))
    response = client.post("/manage/settings/cash", data={"over_short_amount": "500"})
    assert response.status_code == 403
    assert fresh(store).drawer_variance_cents == 500


def test_cash_limits_need_a_csrf_token(manager_client, store):
    data = {"over_short_amount": "500", "refund_amount": "100", "refund_days": "7"}
    response = manager_client.post("/manage/settings/cash", data=data, csrf=False)
    assert response.status_code == 400
    assert fresh(store).drawer_variance_cents == 500
