"""Who acts in a browser is who last typed a PIN; the lock and the idle lock hold on the server."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models.infra.audit import AuditEvent
from models.people.users import LoginSession
from models.stores.store import Store
from support import PASSWORD


def switch(client, user, pin: str = "2468"):
    """Hand the tablet to someone by their PIN, as the PIN pad does."""
    return client.post("/register/switch", data={"user_id": user.id, "pin": pin})


def session_row() -> LoginSession:
    """Return the browser's live session row (commit or roll back before the next request)."""
    db.session.expire_all()
    return db.session.scalars(select(LoginSession).where(LoginSession.revoked_at.is_(None))).one()


def session_state() -> dict:
    """Read the live session row and end the read, so the next request may write it."""
    row = session_row()
    state = {"active_at": row.active_at, "locked_at": row.locked_at, "operator_id": row.operator_id}
    db.session.rollback()
    return state


def goes_to_lock_screen(response) -> bool:
    location = response.headers.get("Location") or response.headers.get("HX-Redirect") or ""
    return response.status_code in (204, 302, 303) and location.startswith("/register/switch")


def test_a_budtender_who_switches_in_on_a_managers_tablet_gets_no_back_office(
    client, store, make_user, login_as
):
    manager = make_user(store, role="manager", pin="9999")
    budtender = make_user(store, pin="1357")
    login_as(client, manager)
    assert client.get("/manage/settings").status_code == 200
    assert switch(client, budtender, "1357").status_code == 303

    assert client.get("/manage/").status_code == 403
    assert client.get("/manage/settings").status_code == 403
    refused = client.post(
        "/manage/settings/register", data={"approval_percent": "90", "approval_amount": "500"}
    )
    assert refused.status_code == 403
    db.session.expire_all()
    assert db.session.get(Store, store.id).discount_approval_bp != 9000
    assert budtender.name in client.get("/register/").get_data(as_text=True)


def test_the_audit_names_the_manager_who_typed_the_pin(client, store, make_user, login_as):
    opener = make_user(store, role="manager", pin="9999")
    other = make_user(store, role="manager", pin="8888")
    login_as(client, opener)
    switch(client, other, "8888")
    saved = client.post(
        "/manage/settings/register", data={"approval_percent": "15", "approval_amount": "40"}
    )
    assert saved.status_code == 303
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "store.settings_changed")
    ).one()
    assert event.user_id == other.id
    assert other.name in client.get("/manage/").get_data(as_text=True)


def test_changing_store_does_not_hand_the_tablet_back_to_who_signed_in(
    client, store, make_user, login_as
):
    manager = make_user(store, role="manager", pin="9999")
    budtender = make_user(store, pin="1357")
    login_as(client, manager)
    switch(client, budtender, "1357")
    assert client.post("/register/store", data={"store_id": store.id}).status_code == 303
    assert client.get("/manage/settings").status_code == 403
    assert budtender.name in client.get("/register/").get_data(as_text=True)


def test_the_manager_takes_the_tablet_back_with_their_own_pin(client, store, make_user, login_as):
    manager = make_user(store, role="manager", pin="9999")
    budtender = make_user(store, pin="1357")
    login_as(client, manager)
    switch(client, budtender, "1357")
    assert client.get("/manage/settings").status_code == 403
    assert switch(client, manager, "9999").status_code == 303
    assert client.get("/manage/settings").status_code == 200


def test_a_cookie_copied_before_the_lock_cannot_unlock_it(app, client, store, make_user, login_as):
    manager = make_user(store, role="manager", pin="9999")
    login_as(client, manager)
    assert client.get("/register/sales").status_code == 200
    copied = client.get_cookie("session").value

    assert client.post("/register/lock").status_code == 303
    assert "Register locked" in client.get("/register/").get_data(as_text=True)

    replay = app.test_client()
    replay.set_cookie("session", copied)
    assert "Register locked" in replay.get("/register/").get_data(as_text=True)
    assert goes_to_lock_screen(replay.get("/register/sales"))
    assert goes_to_lock_screen(replay.get("/manage/settings"))
    assert goes_to_lock_screen(
        replay.post("/manage/settings/register", data={"approval_percent": "90"})
    )
    # Changing store is no way around the lock either.
    assert goes_to_lock_screen(replay.post("/register/store", data={"store_id": store.id}))
    assert session_state()["locked_at"] is not None


def test_the_back_office_locks_and_a_pin_brings_the_manager_back(
    client, store, make_user, login_as
):
    manager = make_user(store, role="manager", pin="9999")
    login_as(client, manager)
    client.post("/register/lock")
    locked = client.get("/manage/settings")
    assert goes_to_lock_screen(locked)
    assert "next=/manage/settings" in locked.headers["Location"]
    page = client.get(locked.headers["Location"]).get_data(as_text=True)
    assert "Register locked" in page
    back = client.post(
        "/register/switch?next=/manage/settings", data={"user_id": manager.id, "pin": "9999"}
    )
    assert back.headers["Location"] == "/manage/settings"
    assert client.get("/manage/settings").status_code == 200


def test_an_idle_tablet_locks_on_the_server(app, client, htmx_client, store, make_user, login_as):
    manager = make_user(store, role="manager", pin="9999")
    login_as(client, manager)
    assert client.get("/manage/").status_code == 200
    row = session_row()
    idle = app.config["REGISTER_IDLE_LOCK_SECONDS"]
    row.active_at = row.active_at - timedelta(seconds=idle + 61)
    db.session.commit()

    assert goes_to_lock_screen(client.get("/manage/"))
    assert session_state()["locked_at"] is not None
    assert goes_to_lock_screen(client.get("/register/sales"))
    assert db.session.query(AuditEvent).filter_by(action="register.idle_lock").count() == 1


def test_an_idle_htmx_request_is_sent_to_the_lock_screen(
    app, htmx_client, store, make_user, login_as
):
    budtender = make_user(store, pin="1357")
    login_as(htmx_client, budtender)
    row = session_row()
    row.active_at = row.active_at - timedelta(seconds=app.config["REGISTER_IDLE_LOCK_SECONDS"] + 61)
    db.session.commit()
    response = htmx_client.get("/register/queue")
    assert response.headers.get("HX-Redirect", "").startswith("/register/switch")


def test_the_queue_polling_does_not_keep_an_idle_register_open(
    app, htmx_client, store, make_user, login_as
):
    budtender = make_user(store, pin="1357")
    login_as(htmx_client, budtender)
    row = session_row()
    idle = app.config["REGISTER_IDLE_LOCK_SECONDS"]
    row.active_at = row.active_at - timedelta(seconds=idle - 30)
    row.last_seen_at = row.last_seen_at - timedelta(seconds=idle - 30)
    db.session.commit()
    before = session_state()["active_at"]
    assert htmx_client.get("/register/queue").status_code == 200
    assert session_state()["active_at"] == before
    assert htmx_client.get("/register/").status_code == 200
    assert session_state()["active_at"] > before


def test_the_switch_is_kept_on_the_server_not_in_the_cookie(
    app, client, store, make_user, login_as
):
    manager = make_user(store, role="manager", pin="9999")
    budtender = make_user(store, pin="1357")
    login_as(client, manager)
    before_switch = client.get_cookie("session").value
    switch(client, budtender, "1357")
    assert session_state()["operator_id"] == budtender.id
    # An older cookie of the same session is the same session: still the budtender.
    replay = app.test_client()
    replay.set_cookie("session", before_switch)
    assert replay.get("/manage/settings").status_code == 403


@pytest.mark.parametrize("role", ["budtender", "manager"])
def test_a_deactivated_operator_leaves_the_tablet_locked(client, store, make_user, login_as, role):
    manager = make_user(store, role="manager", pin="9999")
    operator = make_user(store, role=role, pin="1357")
    login_as(client, manager)
    switch(client, operator, "1357")
    operator.active = False
    db.session.commit()
    assert goes_to_lock_screen(client.get("/manage/settings"))
    assert goes_to_lock_screen(client.get("/register/sales"))


def test_signing_in_again_starts_unlocked_as_the_person_who_signed_in(
    client, store, make_user, login_as
):
    manager = make_user(store, role="manager", pin="9999")
    login_as(client, manager)
    client.post("/register/lock")
    client.post("/logout")
    assert (
        client.post("/staff/login", data={"email": manager.email, "password": PASSWORD}).status_code
        == 303
    )
    assert client.get("/manage/settings").status_code == 200


def test_a_budtender_taking_over_from_the_back_office_starts_at_the_register(
    client, store, make_user, login_as
):
    manager = make_user(store, role="manager", pin="9999")
    budtender = make_user(store, pin="1357")
    login_as(client, manager)
    page = client.get("/manage/settings").get_data(as_text=True)
    assert 'href="/register/switch?next=/manage/settings"' in page
    locked = client.post("/register/lock?next=/manage/settings")
    assert locked.headers["Location"] == "/register/switch?next=/manage/settings"
    taken = client.post(
        "/register/switch?next=/manage/settings", data={"user_id": budtender.id, "pin": "1357"}
    )
    assert taken.headers["Location"] == "/register/"


def test_typing_in_a_long_form_keeps_the_tablet_open_but_cannot_unlock_it(
    app, htmx_client, store, make_user, login_as
):
    manager = make_user(store, role="manager", pin="9999")
    login_as(htmx_client, manager)
    page = htmx_client.get("/manage/settings").get_data(as_text=True)
    assert 'data-activity-url="/register/activity"' in page
    row = session_row()
    idle = app.config["REGISTER_IDLE_LOCK_SECONDS"]
    row.active_at = row.active_at - timedelta(seconds=idle - 10)
    db.session.commit()
    before = session_state()["active_at"]
    assert htmx_client.post("/register/activity").status_code == 204
    assert session_state()["active_at"] > before

    htmx_client.post("/register/lock")
    assert goes_to_lock_screen(htmx_client.post("/register/activity"))
    assert session_state()["locked_at"] is not None
