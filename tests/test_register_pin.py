"""Switching budtender with a PIN: hashed, rate-limited, locked after repeated failures."""

from extensions import db
from models.infra.audit import AuditEvent
from models.people.users import User


def test_a_budtender_takes_over_with_a_pin(client, store, make_user, login_as):
    opener = make_user(store, pin="1111")
    other = make_user(store, pin="2222")
    login_as(client, opener)
    assert other.pin_hash != "2222" and other.pin_hash.startswith("$argon2id$")
    response = client.post("/register/switch", data={"user_id": other.id, "pin": "2222"})
    assert response.status_code == 303
    assert other.name in client.get("/register/").get_data(as_text=True)
    assert db.session.query(AuditEvent).filter_by(action="register.switch").count() == 1


def test_sixth_wrong_pin_within_a_minute_is_refused(app, client, store, make_user, login_as):
    app.config["PIN_LOCK_AFTER"] = 50  # isolate the rate limit from the lock
    opener = make_user(store, pin="1111")
    target = make_user(store, pin="2222")
    login_as(client, opener)
    statuses = [
        client.post("/register/switch", data={"user_id": target.id, "pin": "9999"}).status_code
        for _ in range(5)
    ]
    assert statuses == [422] * 5
    sixth = client.post("/register/switch", data={"user_id": target.id, "pin": "2222"})
    assert sixth.status_code == 429


def test_pin_locks_after_repeated_failures(app, client, htmx_client, store, make_user, login_as):
    app.config["PIN_RATE_LIMIT"] = "100 per minute"  # isolate the lock from the rate limit
    opener = make_user(store, pin="1111")
    target = make_user(store, pin="2222")
    login_as(htmx_client, opener)
    for _ in range(4):
        response = htmx_client.post("/register/switch", data={"user_id": target.id, "pin": "0000"})
        assert response.status_code == 422
    assert "1 try left" in response.get_data(as_text=True)
    fifth = htmx_client.post("/register/switch", data={"user_id": target.id, "pin": "0000"})
    assert "now locked" in fifth.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, target.id).pin_locked_until is not None
    # Another tablet meets the same lock: it lives on the budtender, not the device.
    login_as(client, opener)
    locked = client.post("/register/switch", data={"user_id": target.id, "pin": "2222"})
    assert locked.status_code == 422
    assert "locked" in locked.get_data(as_text=True)


def test_pin_form_errors_rerender(htmx_client, store, make_user, login_as):
    opener = make_user(store)
    login_as(htmx_client, opener)
    response = htmx_client.post("/register/switch", data={"user_id": opener.id, "pin": "12"})
    assert response.status_code == 422
    assert "A PIN is 4 to 8 digits." in response.get_data(as_text=True)
    response = htmx_client.post("/register/switch", data={"pin": "1234"})
    assert response.status_code == 422
    assert "Tap your name first." in response.get_data(as_text=True)


def test_a_budtender_of_another_store_cannot_be_switched_to(
    client, make_store, make_user, login_as
):
    ours, theirs = make_store(), make_store()
    opener = make_user(ours, pin="1111")
    stranger = make_user(theirs, pin="3333")
    login_as(client, opener)
    response = client.post("/register/switch", data={"user_id": stranger.id, "pin": "3333"})
    assert response.status_code == 422
    assert client.get(f"/register/switch?user={stranger.id}").status_code == 404


def test_lock_screen_asks_for_a_pin(client, store, make_user, login_as):
    opener = make_user(store, pin="1111")
    login_as(client, opener)
    assert client.post("/register/lock").status_code == 303
    page = client.get("/register/").get_data(as_text=True)
    assert "Register locked" in page
    client.post("/register/switch", data={"user_id": opener.id, "pin": "1111"})
    assert "ready to sell" in client.get("/register/").get_data(as_text=True)
