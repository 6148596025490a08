"""The state system's address: chosen from known hosts, and never a way to lead the keys away."""

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from tracktrace_support import FAST, USER_KEY, VENDOR_KEY, point_at_metrc

from extensions import db
from jobs.tracktrace_cli import tracktrace_cli
from models.infra.audit import AuditEvent
from models.stores.store import Store
from support import base_config
from tracktrace.emulator import Emulator
from tracktrace.setup import configure

CO_PRODUCTION = "https://api-co.metrc.com"
CO_SANDBOX = "https://sandbox-api-co.metrc.com"
LIVE_KEYS = {"vendor_key": "vk-live-1", "user_key": "uk-live-1"}


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


@pytest.fixture
def live_store(store):
    """A Colorado store reporting live to Metrc's production host with saved keys."""
    store.tracktrace_dry_run = False
    store.tracktrace_base_url = CO_PRODUCTION
    store.set_tracktrace_credentials(LIVE_KEYS)
    db.session.commit()
    return store


def fresh(store) -> Store:
    db.session.expire_all()
    return db.session.get(Store, store.id)


def changes(store) -> list[AuditEvent]:
    return db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.store_id == store.id, AuditEvent.action == "store.settings_changed"
        )
    ).all()


def reporting(**fields) -> dict:
    data = {"system": "metrc", "mode": "live", "api": "v3", "base_url": CO_PRODUCTION}
    data.update(fields)
    return data


class Catcher:
    """A loopback web server that answers every request the same way and keeps what it got."""

    def __init__(self, status=200, body=b"", headers=None):
        self.requests: list[dict] = []
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                catcher.requests.append({"path": self.path, **dict(self.headers.items())})
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_the_address_is_chosen_from_the_states_known_hosts(manager_client, store):
    page = manager_client.get("/manage/settings").get_data(as_text=True)
    assert f'value="{CO_PRODUCTION}"' in page and f'value="{CO_SANDBOX}"' in page
    assert "https://api-ca.metrc.com" not in page  # another state's host is not offered
    response = manager_client.post(
        "/manage/settings/reporting", data=reporting(base_url=CO_SANDBOX, **LIVE_KEYS)
    )
    assert response.status_code == 303
    saved = fresh(store)
    assert (saved.tracktrace_base_url, saved.tracktrace_dry_run) == (CO_SANDBOX, False)
    assert saved.tracktrace_credentials() == LIVE_KEYS


@pytest.mark.parametrize(
    "address",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8700",
        "http://localhost",
        "http://api-co.metrc.com",
        "https://api-co.metrc.com.evil.example",
        "https://api-co.metrc.com@evil.example",
        "https://evil.example/api-co.metrc.com",
        "https://api-co.metrc.com:8443",
        "https://api-ca.metrc.com",
        "https://v3.api.nm.trace.biotrackthc.net",
    ],
)
def test_a_forged_address_is_refused_and_the_keys_stay_home(manager_client, live_store, address):
    response = manager_client.post("/manage/settings/reporting", data=reporting(base_url=address))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Choose the address from the list" in text
    assert "flask tracktrace configure" in text
    saved = fresh(live_store)
    assert saved.tracktrace_base_url == CO_PRODUCTION
    assert saved.tracktrace_credentials() == LIVE_KEYS
    assert changes(live_store) == []


def test_changing_the_address_clears_the_saved_keys(manager_client, live_store):
    page = manager_client.get("/manage/settings").get_data(as_text=True)
    assert "Changing the address clears the saved keys" in page
    # Going live at the new address with the old keys is refused: they were not entered again.
    refused = manager_client.post("/manage/settings/reporting", data=reporting(base_url=CO_SANDBOX))
    assert refused.status_code == 422
    assert "Going live needs: Metrc integrator (vendor) key, Metrc user key." in refused.get_data(
        as_text=True
    )
    assert fresh(live_store).tracktrace_credentials() == LIVE_KEYS
    moved = manager_client.post(
        "/manage/settings/reporting", data=reporting(base_url=CO_SANDBOX, mode="dryrun")
    )
    assert moved.status_code == 303
    saved = fresh(live_store)
    assert saved.tracktrace_base_url == CO_SANDBOX and saved.tracktrace_credentials() == {}
    page = manager_client.get("/manage/settings").get_data(as_text=True)
    assert "The address changed, so the saved keys were cleared" in page
    [event] = changes(live_store)
    assert event.reason == "State reporting: mode, address, credentials"


def test_saving_without_touching_the_address_keeps_the_keys(manager_client, live_store):
    response = manager_client.post(
        "/manage/settings/reporting", data=reporting(license_number="402R-00042")
    )
    assert response.status_code == 303
    saved = fresh(live_store)
    assert saved.tracktrace_credentials() == LIVE_KEYS
    assert saved.tracktrace_license == "402R-00042"


def test_an_address_set_by_the_operator_stays_selectable(manager_client, store):
    with Emulator() as emulator:
        point_at_metrc(store, emulator)
        page = manager_client.get("/manage/settings").get_data(as_text=True)
        assert re.search(rf'<option selected value="{re.escape(emulator.url)}">', page)
        response = manager_client.post(
            "/manage/settings/reporting",
            data=reporting(base_url=emulator.url, license_number=store.license_number),
        )
        assert response.status_code == 303
        assert fresh(store).tracktrace_credentials() == {
            "vendor_key": VENDOR_KEY,
            "user_key": USER_KEY,
        }


def test_operator_addresses_from_the_environment_are_offered(app, manager_client, store):
    app.config["TRACKTRACE_EXTRA_URLS"] = "http://127.0.0.1:8700, https://sandbox.example.test"
    page = manager_client.get("/manage/settings").get_data(as_text=True)
    assert 'value="http://127.0.0.1:8700"' in page
    response = manager_client.post(
        "/manage/settings/reporting",
        data=reporting(base_url="http://127.0.0.1:8700", mode="dryrun"),
    )
    assert response.status_code == 303
    assert fresh(store).tracktrace_base_url == "http://127.0.0.1:8700"


def test_a_manager_cannot_reach_another_stores_reporting(
    client, store, make_store, make_user, login_as
):
    other = make_store()
    other.set_tracktrace_credentials({"vendor_key": "b-vk", "user_key": "b-uk"})
    db.session.commit()
    login_as(client, make_user(store, role="manager"))
    assert client.post("/manage/store", data={"store_id": str(other.id)}).status_code == 404
    response = client.post(
        "/manage/settings/reporting",
        data=reporting(base_url=CO_SANDBOX, mode="dryrun", store_id=str(other.id)),
    )
    assert response.status_code == 303
    assert fresh(other).tracktrace_base_url == ""
    assert fresh(other).tracktrace_credentials() == {"vendor_key": "b-vk", "user_key": "b-uk"}
    assert fresh(store).tracktrace_base_url == CO_SANDBOX


def test_configure_clears_the_keys_whenever_the_address_moves(live_store):
    changed = configure(live_store, system="metrc", url=CO_SANDBOX, credentials=None)
    db.session.commit()
    assert changed == ["address", "credentials"]
    assert fresh(live_store).tracktrace_credentials() == {}


def test_the_command_line_may_point_anywhere_but_keeps_no_old_keys(app, live_store):
    runner = app.test_cli_runner()
    result = runner.invoke(
        tracktrace_cli,
        ["configure", live_store.license_number, "--system", "metrc",
         "--url", "http://127.0.0.1:8700", "--vendor-key", "vk-new", "--user-key", "uk-new"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    saved = fresh(live_store)
    assert saved.tracktrace_base_url == "http://127.0.0.1:8700"
    assert saved.tracktrace_credentials() == {"vendor_key": "vk-new", "user_key": "uk-new"}
    assert "not one of Colorado's known Metrc addresses" in result.output
    refused = runner.invoke(
        tracktrace_cli,
        ["configure", live_store.license_number, "--system", "metrc",
         "--url", "file:///etc/passwd", "--vendor-key", "v", "--user-key", "u"],
    )  # fmt: skip
    assert refused.exit_code != 0 and "http:// or https://" in refused.output


def test_test_connection_never_follows_a_redirect(manager_client, store):
    with Catcher() as elsewhere:
        elsewhere_url = f"{elsewhere.url}/facilities/v2/"
        with Catcher(302, b"moved", {"Location": elsewhere_url}) as redirecting:
            store.tracktrace_dry_run = False
            store.tracktrace_base_url = redirecting.url
            store.set_tracktrace_credentials(LIVE_KEYS)
            db.session.commit()
            response = manager_client.post(
                "/manage/settings/test-connection", headers={"HX-Request": "true"}
            )
            text = response.get_data(as_text=True)
            assert "redirect" in text and "not followed" in text
            assert len(redirecting.requests) == 1
        assert elsewhere.requests == []


def test_test_connection_shows_the_states_words_never_a_foreign_page(manager_client, store):
    page = b"<html><body><h1>Welcome to nginx</h1>INTERNAL-SECRET-PAGE</body></html>"
    with Catcher(401, page, {"Content-Type": "text/html"}) as foreign:
        store.tracktrace_dry_run = False
        store.tracktrace_base_url = foreign.url
        store.set_tracktrace_credentials(LIVE_KEYS)
        db.session.commit()
        text = manager_client.post(
            "/manage/settings/test-connection", headers={"HX-Request": "true"}
        ).get_data(as_text=True)
        assert "Metrc refused the credentials" in text and "HTTP 401" in text
        assert "INTERNAL-SECRET-PAGE" not in text and "nginx" not in text
    with Emulator() as emulator:
        point_at_metrc(store, emulator)
        emulator.fail("401", match="GET /facilities")
        text = manager_client.post(
            "/manage/settings/test-connection", headers={"HX-Request": "true"}
        ).get_data(as_text=True)
        # The state's own plain-text answer is its message, in words.
        assert "The provided API key is only valid for V1 API endpoints." in text
