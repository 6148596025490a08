"""Sign-in and PIN entry under attack: off-site redirects, parallel guesses, timing, Redis down."""

import logging
import threading
from urllib.parse import urlsplit

import pytest

from extensions import db
from models.people.customers import Customer
from models.people.register_pins import try_pin
from models.people.users import User
from support import PASSWORD

SITE = "shop.example"

# Every way we know of to make "next" lead off the site (as the query string is sent).
OFF_SITE = [
    "//evil.example",
    "%2F%2Fevil.example",
    "https://evil.example/",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d/evil.example",
    "/%0d%0a/evil.example",
    "/%5Cevil.example",
    "/%5C%5Cevil.example",
    "%5C%5Cevil.example",
    "/%5C/evil.example",
    "%20//evil.example",
    "%09//evil.example",
    "/%E3%80%80/evil.example",
    "/%2F/evil.example",
    "javascript:alert(1)",
    "/%0d%0aSet-Cookie:%20owned=1",
    "/x%0d%0aLocation:%20https://evil.example",
]


def browser_host(location: str) -> str:
    """Return the host a browser on SITE goes to for a Location (WHATWG rules for http(s))."""
    # Browsers strip leading/trailing C0 controls and spaces, drop tabs and newlines anywhere,
    # and read a backslash as a slash.
    text = location.strip("".join(map(chr, range(0x21))))
    text = "".join(ch for ch in text if ch not in "\t\n\r").replace("\\", "/")
    if text.startswith("//"):
        return urlsplit("https:" + text).hostname or ""
    parts = urlsplit(text)
    if parts.scheme:
        return parts.hostname or parts.scheme
    return SITE


def where_to(response) -> str:
    return response.headers.get("HX-Redirect") or response.headers.get("Location") or ""


@pytest.mark.parametrize("target", OFF_SITE)
def test_staff_sign_in_never_sends_the_browser_off_site(
    app, client, htmx_client, store, make_user, target
):
    manager = make_user(store, role="manager")
    for browser in (client, htmx_client):
        response = browser.post(
            f"/staff/login?next={target}", data={"email": manager.email, "password": PASSWORD}
        )
        assert response.status_code in (204, 303)
        assert browser_host(where_to(response)) == SITE, where_to(response)
        assert where_to(response) == "/manage/"
        assert "owned" not in str(response.headers)


@pytest.mark.parametrize("target", OFF_SITE)
def test_customer_sign_in_and_the_age_gate_never_send_the_browser_off_site(
    client, htmx_client, make_customer, target
):
    customer = make_customer(email="casey@example.com")
    for browser in (client, htmx_client):
        response = browser.post(
            f"/account/login?next={target}", data={"email": customer.email, "password": PASSWORD}
        )
        assert browser_host(where_to(response)) == SITE, where_to(response)
        browser.post("/logout")
        gate = browser.post(f"/age?next={target}", data={"answer": "yes"})
        assert gate.status_code in (204, 303)
        assert browser_host(where_to(gate)) == SITE, where_to(gate)


@pytest.mark.parametrize("target", OFF_SITE)
def test_the_pin_screen_never_sends_the_browser_off_site(
    client, store, make_user, login_as, target
):
    budtender = make_user(store, pin="1357")
    login_as(client, budtender)
    response = client.post(
        f"/register/switch?next={target}", data={"user_id": budtender.id, "pin": "1357"}
    )
    assert response.status_code == 303
    assert where_to(response) == "/register/"


def test_a_nul_byte_in_next_is_refused_before_sign_in_and_sends_the_browser_nowhere(
    client, htmx_client, store, make_user
):
    manager = make_user(store, role="manager")
    for browser in (client, htmx_client):
        response = browser.post(
            "/staff/login?next=/%00/evil.example",
            data={"email": manager.email, "password": PASSWORD},
        )
        assert response.status_code in (400, 422)
        assert where_to(response) == ""


def test_a_path_on_the_site_is_still_followed(client, store, make_user):
    manager = make_user(store, role="manager")
    response = client.post(
        "/staff/login?next=/manage/settings%3Fx%3D1",
        data={"email": manager.email, "password": PASSWORD},
    )
    assert where_to(response) == "/manage/settings?x=1"


def test_the_pin_limit_counts_03_and_3_as_one_budtender(app, client, store, make_user, login_as):
    app.config["PIN_LOCK_AFTER"] = 50  # the rate limit alone, not the budtender's PIN lock
    opener = make_user(store, pin="1111")
    target = make_user(store, pin="2222")
    login_as(client, opener)
    spellings = [
        str(target.id),
        f"0{target.id}",
        f"00{target.id}",
        f"{target.id} ",
        f"000{target.id}",
    ]
    statuses = [
        client.post("/register/switch", data={"user_id": user_id, "pin": "9999"}).status_code
        for user_id in spellings
    ]
    assert statuses == [422] * 5
    sixth = client.post("/register/switch", data={"user_id": f"0{target.id}", "pin": "2222"})
    assert sixth.status_code == 429


def test_a_budtender_named_with_leading_zeros_still_switches_in(client, store, make_user, login_as):
    opener = make_user(store, pin="1111")
    target = make_user(store, pin="2222")
    login_as(client, opener)
    response = client.post("/register/switch", data={"user_id": f"0{target.id}", "pin": "2222"})
    assert response.status_code == 303
    for odd in ("²", "9" * 5000, "-1", str(2**64)):
        refused = client.post("/register/switch", data={"user_id": odd, "pin": "2222"})
        assert refused.status_code == 422
        assert "Tap your name first." in refused.get_data(as_text=True)


@pytest.fixture
def argon2_checks(monkeypatch):
    """Count argon2 verifications (the expensive part of a sign-in)."""
    from models.infra import passwords

    calls = []
    real = passwords._hasher

    class Counting:
        def verify(self, stored, secret):
            calls.append(stored)
            return real.verify(stored, secret)

        def hash(self, secret):
            return real.hash(secret)

    monkeypatch.setattr(passwords, "_hasher", Counting())
    return calls


def test_staff_sign_in_does_the_same_work_for_an_unknown_account(
    client, store, make_user, argon2_checks
):
    user = make_user(store)
    client.post("/staff/login", data={"email": user.email, "password": "wrong-password"})
    assert len(argon2_checks) == 1
    client.post("/staff/login", data={"email": "nobody@example.com", "password": "wrong-password"})
    assert len(argon2_checks) == 2


def test_customer_sign_in_does_the_same_work_for_an_unknown_account(
    client, make_customer, argon2_checks
):
    customer = make_customer(email="casey@example.com")
    client.post("/account/login", data={"email": customer.email, "password": "wrong-password"})
    assert len(argon2_checks) == 1
    client.post("/account/login", data={"email": "nobody@example.com", "password": "wrong-one"})
    assert len(argon2_checks) == 2


@pytest.fixture
def app_config(app_config):
    """Give every thread of the race tests its own pooled connection."""
    app_config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "pool_pre_ping": True,
        "pool_size": 30,
        "max_overflow": 10,
        "pool_timeout": 60,
    }
    return app_config


def at_once(count: int, work) -> list:
    """Run work(n) on `count` threads released together; return what each returned."""
    db.session.rollback()
    barrier = threading.Barrier(count)
    results: list = []
    lock = threading.Lock()

    def run(n):
        outcome = work(n, barrier)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == count, "a thread hung"
    return results


def test_twenty_wrong_pins_at_once_cannot_pass_the_pin_lock_on_postgres(
    app, store, make_user, postgres_only
):
    target_id = make_user(store, pin="2222").id

    def guess(n, barrier):
        with app.app_context():
            try:
                user = db.session.get(User, target_id)
                db.session.rollback()
                barrier.wait(timeout=60)
                result = try_pin(user, f"{n:04d}", lock_after=5, lock_minutes=15)
                db.session.commit()
                return result.message
            except Exception as error:  # noqa: BLE001 - a crash must fail the test, not the thread
                db.session.rollback()
                return f"crash: {error!r}"
            finally:
                db.session.remove()

    messages = at_once(20, guess)
    assert [m for m in messages if m.startswith("crash")] == []
    checked = [m for m in messages if m.startswith("Wrong PIN")]
    assert len(checked) == 5, messages
    assert sum("is now locked" in m for m in checked) == 1
    assert sum("locked after too many wrong tries" in m for m in messages) == 15
    db.session.expire_all()
    assert db.session.get(User, target_id).pin_locked_until is not None


def test_twenty_wrong_passwords_at_once_cannot_pass_the_account_lock_on_postgres(
    app, store, make_user, make_customer, postgres_only
):
    app.config["PASSWORD_LOCK_AFTER"] = 5
    app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"  # the account lock alone
    staff = make_user(store)
    customer = make_customer(email="casey@example.com")

    for url, email, model, row_id in (
        ("/staff/login", staff.email, User, staff.id),
        ("/account/login", customer.email, Customer, customer.id),
    ):
        clients = [app.test_client() for _ in range(20)]
        for browser in clients:
            browser.get(url)

        def attempt(n, barrier, url=url, email=email, clients=clients):
            browser = clients[n]
            with app.app_context():
                token = browser.csrf_token()
                barrier.wait(timeout=60)
                response = browser.post(
                    url,
                    data={"email": email, "password": f"wrong-{n}"},
                    headers={"X-CSRFToken": token},
                    csrf=False,
                )
                db.session.remove()
            return response.status_code, response.get_data(as_text=True)

        outcomes = at_once(20, attempt)
        assert all(status == 422 for status, _ in outcomes), [s for s, _ in outcomes]
        wrong = [body for _, body in outcomes if "email and password do not match" in body]
        locked = [body for _, body in outcomes if "account is locked" in body]
        assert len(wrong) == 5 and len(locked) == 15, (url, len(wrong), len(locked))
        db.session.expire_all()
        assert db.session.get(model, row_id).locked_until is not None


@pytest.fixture
def redis_down(app_config, monkeypatch):
    """Point Redis at a loopback port nothing listens on."""
    from extensions import limiter

    app_config.update(
        REDIS_URL="redis://127.0.0.1:9/0", RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0"
    )
    # Running the migrations (logging.fileConfig) disabled the loggers that existed then.
    monkeypatch.setattr(logging.getLogger("flask-limiter"), "disabled", False)
    yield app_config
    # The limiter is one object for every app of this test process: forget the dead storage.
    limiter._storage_dead = False


def test_with_redis_down_sign_in_and_pin_switch_work_and_limits_hold_in_memory(
    redis_down, app, client, store, make_user, make_customer, login_as, caplog
):
    caplog.set_level(logging.WARNING)
    opener = make_user(store, pin="1111")
    target = make_user(store, pin="2222")
    customer = make_customer(email="casey@example.com")

    assert login_as(client, opener).status_code == 303
    assert (
        client.post("/register/switch", data={"user_id": target.id, "pin": "2222"}).status_code
        == 303
    )
    other = app.test_client()
    assert login_as(other, customer).status_code == 303

    attacker = app.test_client()
    statuses = [
        attacker.post("/staff/login", data={"email": target.email, "password": "wrong"}).status_code
        for _ in range(6)
    ]
    assert statuses == [422] * 5 + [429]
    pins = [
        client.post("/register/switch", data={"user_id": opener.id, "pin": "0000"}).status_code
        for _ in range(6)
    ]
    assert pins == [422] * 5 + [429]
    fallbacks = [r for r in caplog.records if "falling back to in-memory" in r.getMessage()]
    assert len(fallbacks) == 1


def test_a_path_with_accents_goes_out_as_ascii(htmx_client, store, make_user):
    manager = make_user(store, role="manager")
    response = htmx_client.post(
        "/staff/login?next=/manage/caf%C3%A9%3Fq%3D%E2%9C%93",
        data={"email": manager.email, "password": PASSWORD},
    )
    assert response.headers["HX-Redirect"] == "/manage/caf%C3%A9?q=%E2%9C%93"
