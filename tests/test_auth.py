"""Staff and customer sign-in, sign-up age rules, logout that really ends the session."""

from datetime import date, timedelta

from extensions import db
from models.infra.audit import AuditEvent
from models.people.customers import Customer
from support import PASSWORD, shopper_today, store_today


def _years_ago(years: int, days: int = 0) -> str:
    today = store_today()
    return (
        date(today.year - years, today.month, min(today.day, 28)) - timedelta(days=days)
    ).isoformat()


def signup_form(**overrides) -> dict:
    form = {
        "first_name": "Riley",
        "last_name": "Nguyen",
        "email": "riley@example.com",
        "date_of_birth": _years_ago(30),
        "resident_state": "CO",
        "password": "a-long-password",
        "confirm": "a-long-password",
    }
    form.update(overrides)
    return form


def test_staff_sign_in_goes_to_the_back_office_for_managers(client, store, make_user):
    manager = make_user(store, role="manager")
    response = client.post("/staff/login", data={"email": manager.email, "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/manage/"
    assert client.get("/manage/").status_code == 200
    assert db.session.query(AuditEvent).filter_by(action="login.staff").count() == 1


def test_budtender_sign_in_goes_to_the_register(client, store, make_user):
    budtender = make_user(store)
    response = client.post(
        "/staff/login", data={"email": budtender.email.upper(), "password": PASSWORD}
    )
    assert response.headers["Location"] == "/register/"


def test_wrong_password_rerenders_the_form_with_a_message(client, htmx_client, store, make_user):
    user = make_user(store)
    for browser in (client, htmx_client):
        response = browser.post("/staff/login", data={"email": user.email, "password": "nope"})
        assert response.status_code == 422
        assert "That email and password do not match." in response.get_data(as_text=True)
    assert htmx_client.post("/staff/login", data={}).get_data(as_text=True).count("<html") == 0


def test_next_parameter_cannot_leave_the_site(client, store, make_user):
    manager = make_user(store, role="manager")
    response = client.post(
        "/staff/login?next=//evil.example/x",
        data={"email": manager.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/manage/"


def test_login_attempts_are_rate_limited(client, store, make_user):
    user = make_user(store)
    statuses = [
        client.post("/staff/login", data={"email": user.email, "password": "wrong"}).status_code
        for _ in range(6)
    ]
    assert statuses == [422] * 5 + [429]
    # Even the right password is refused while the limit holds.
    right = client.post("/staff/login", data={"email": user.email, "password": PASSWORD})
    assert right.status_code == 429
    assert "Too many attempts" in right.get_data(as_text=True)


def test_account_locks_after_repeated_failures(app, client, store, make_user):
    app.config["PASSWORD_LOCK_AFTER"] = 3
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    user = make_user(store)
    for _ in range(3):
        client.post("/staff/login", data={"email": user.email, "password": "wrong"})
    response = client.post("/staff/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 422
    assert "locked" in response.get_data(as_text=True)


def test_a_cookie_copied_before_logout_is_refused_after(app, client, store, make_user):
    manager = make_user(store, role="manager")
    client.post("/staff/login", data={"email": manager.email, "password": PASSWORD})
    assert client.get("/manage/").status_code == 200
    stolen = client.get_cookie("session").value

    assert client.post("/logout").status_code == 303
    assert client.get("/manage/").status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/manage/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


def test_idle_sessions_end(app, client, store, make_user):
    manager = make_user(store, role="manager")
    client.post("/staff/login", data={"email": manager.email, "password": PASSWORD})
    from models.people.users import LoginSession

    row = db.session.query(LoginSession).one()
    row.last_seen_at = row.last_seen_at - timedelta(minutes=31)
    db.session.commit()
    assert client.get("/manage/").status_code == 302


def test_htmx_request_after_the_session_ended_gets_401_and_a_redirect(htmx_client, store):
    response = htmx_client.get("/manage/")
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/staff/login")


def test_signup_under_21_is_refused_with_the_reason(client, htmx_client):
    for browser in (client, htmx_client):
        response = browser.post(
            "/account/signup", data=signup_form(date_of_birth=_years_ago(20, -5))
        )
        assert response.status_code == 422
        body = response.get_data(as_text=True)
        assert "You must be 21 or older to create an account." in body
    assert db.session.query(Customer).count() == 0


def test_signup_at_19_with_a_valid_medical_card_is_allowed(client):
    response = client.post(
        "/account/signup",
        data=signup_form(
            date_of_birth=_years_ago(19),
            has_medical_card="y",
            medical_card_number="CO-MMJ-12345",
            medical_card_state="CO",
            medical_card_expires=(store_today() + timedelta(days=90)).isoformat(),
        ),
    )
    assert response.status_code == 303
    customer = db.session.query(Customer).one()
    assert customer.kind == "medical"
    assert customer.medical_card_number == "CO-MMJ-12345"
    assert client.get("/account").status_code == 200


def test_signup_at_17_is_refused_even_with_a_card(client):
    response = client.post(
        "/account/signup",
        data=signup_form(
            date_of_birth=_years_ago(17),
            has_medical_card="y",
            medical_card_number="CO-MMJ-12345",
            medical_card_state="CO",
            medical_card_expires=(store_today() + timedelta(days=90)).isoformat(),
        ),
    )
    assert response.status_code == 422
    assert "at least 18" in response.get_data(as_text=True)


def test_signup_with_an_expired_card_is_refused(client):
    response = client.post(
        "/account/signup",
        data=signup_form(
            date_of_birth=_years_ago(19),
            has_medical_card="y",
            medical_card_number="CO-MMJ-12345",
            medical_card_state="CO",
            medical_card_expires=(shopper_today() - timedelta(days=1)).isoformat(),
        ),
    )
    assert response.status_code == 422
    assert "This card has expired" in response.get_data(as_text=True)


def test_signup_twice_with_one_email_points_to_sign_in(client, make_customer):
    make_customer(email="riley@example.com")
    response = client.post("/account/signup", data=signup_form(email="Riley@Example.COM"))
    assert response.status_code == 422
    assert "An account with this email exists" in response.get_data(as_text=True)


def test_customer_sign_in_and_out(client, make_customer, login_as):
    customer = make_customer(email="pat@example.com")
    login_as(client, customer)
    assert "pat@example.com" in client.get("/account").get_data(as_text=True)
    client.post("/logout")
    assert client.get("/account").status_code == 302


def test_customer_account_cannot_open_the_back_office(client, make_customer, login_as):
    login_as(client, make_customer(email="pat@example.com"))
    response = client.get("/manage/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


def test_with_redis_the_login_limit_is_shared_through_redis(request, app_config, redis_server):
    """Two web processes (two apps) share one limit when REDIS_URL is set."""
    import redis

    from app import create_app
    from support import CsrfClient

    app_config.update(REDIS_URL=redis_server, RATELIMIT_STORAGE_URI=redis_server)
    request.getfixturevalue("app")
    user = request.getfixturevalue("make_user")(request.getfixturevalue("store"))
    other_process = create_app(app_config)
    other_process.test_client_class = CsrfClient
    clients = [request.getfixturevalue("client"), other_process.test_client()]
    statuses = [
        clients[n % 2]
        .post("/staff/login", data={"email": user.email, "password": "wrong"})
        .status_code
        for n in range(6)
    ]
    assert statuses == [422] * 5 + [429]
    assert redis.Redis.from_url(redis_server).keys(f"*login:*{user.email}*")
