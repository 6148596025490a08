"""Fixtures: a migrated database per test (SQLite file or PostgreSQL), app, clients, and logins."""

import os
import shutil
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from sqlalchemy import create_engine, text

from app import create_app
from extensions import db
from support import (
    DATABASE_URL,
    IN_CI,
    ON_POSTGRES,
    PASSWORD,
    CsrfClient,
    base_config,
    migrate_to_head,
    psycopg_url,
    store_today,
)


def pytest_addoption(parser):
    parser.addoption(
        "--clock",
        metavar="HH:MM|YYYY-MM-DDTHH:MM",
        help="pin each test's clock to this UTC time of day (today) or instant; it ticks on",
    )


def pinned_instant(value: str) -> datetime:
    """Return the UTC instant a --clock value names (a bare time of day means today, UTC)."""
    if "T" in value:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return datetime.combine(datetime.now(UTC).date(), time.fromisoformat(value), tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned_clock(request):
    """Run the test at the instant --clock names, so date bugs show at any hour (e.g. 00:30 UTC)."""
    value = request.config.getoption("--clock")
    if not value:
        yield None
        return
    if request.node.get_closest_marker("real_clock"):
        pytest.skip("runs other processes on the real clock, which --clock cannot pin")
    instant = pinned_instant(value)
    with time_machine.travel(instant, tick=True):
        yield instant


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """Migrate one database per session: a template file on SQLite, the test DB on PostgreSQL."""
    if ON_POSTGRES:
        engine = create_engine(psycopg_url(DATABASE_URL))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        migrate_to_head(DATABASE_URL)
        return DATABASE_URL
    path = tmp_path_factory.mktemp("db") / "template.db"
    migrate_to_head(f"sqlite:///{path}")
    return path


def _truncate_all(database_uri: str) -> None:
    engine = create_engine(psycopg_url(database_uri))
    with engine.begin() as conn:
        tables = [
            row[0]
            for row in conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ]
        # A worker process a previous test started may still hold a connection and locks;
        # this is a throwaway database, so end every other session before emptying it.
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        if tables:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_uri(database_template, tmp_path):
    """Give each test an empty, migrated database."""
    if ON_POSTGRES:
        _truncate_all(database_template)
        return database_template
    path = tmp_path / "test.db"
    shutil.copy(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app_config(database_uri):
    """Settings for this test's app; tests may change them before `app` is built."""
    return base_config(database_uri)


@pytest.fixture
def app(app_config):
    """The application, with an app context pushed for the test body."""
    application = create_app(app_config)
    application.test_client_class = CsrfClient
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A browser without htmx."""
    return app.test_client()


@pytest.fixture
def htmx_client(app):
    """A browser whose requests come from htmx."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_HX_REQUEST"] = "true"
    return test_client


@pytest.fixture
def runner(app):
    """The CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def make_store(app):
    """Create stores with sensible defaults."""
    from models.stores.store import Store

    counter = iter(range(1, 1000))

    def factory(**overrides) -> Store:
        n = next(counter)
        fields = {
            "code": f"store-{n}",
            "name": f"Test Store {n}",
            "license_number": f"LIC-{n:05d}",
            "state": "CO",
            "timezone": "America/Denver",
            "street": f"{n} Main St",
            "city": "Denver",
            "postal_code": "80202",
            "rule_pack": "CO",
            "tracktrace_system": "metrc",
        }
        fields.update(overrides)
        store = Store(**fields)
        db.session.add(store)
        db.session.commit()
        return store

    return factory


@pytest.fixture
def store(make_store):
    """One store."""
    return make_store()


@pytest.fixture
def make_user(app):
    """Create staff members with a role at a store, the shared test password and a PIN."""
    from models.people.users import StoreMembership, User

    counter = iter(range(1, 1000))

    def factory(store, role: str = "budtender", pin: str = "2468", **overrides) -> User:
        n = next(counter)
        user = User(email=f"{role}{n}@example.com", name=f"{role.capitalize()} Person{n}")
        for key, value in overrides.items():
            setattr(user, key, value)
        user.set_password(PASSWORD)
        user.set_pin(pin)
        user.memberships.append(StoreMembership(store_id=store.id, role=role))
        db.session.add(user)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def make_customer(app):
    """Create customers, with an online login when an email is given."""
    from models.people.customers import Customer

    counter = iter(range(1, 1000))

    def factory(email: str | None = None, **overrides) -> Customer:
        n = next(counter)
        fields = {
            "first_name": "Casey",
            "last_name": f"Customer{n}",
            "date_of_birth": store_today() - timedelta(days=365 * 30),
            "resident_state": "CO",
            "email": email,
        }
        card = overrides.pop("medical_card_number", None)
        fields.update(overrides)
        customer = Customer(**fields)
        if card:
            customer.medical_card_number = card
        if email:
            customer.set_password(PASSWORD)
        db.session.add(customer)
        db.session.commit()
        return customer

    return factory


@pytest.fixture
def login_as(app):
    """Sign a client in as a staff member or a customer through the real login form."""

    def do_login(client, principal):
        from models.people.users import User

        url = "/staff/login" if isinstance(principal, User) else "/account/login"
        response = client.post(url, data={"email": principal.email, "password": PASSWORD})
        assert response.status_code in (204, 303), response.get_data(as_text=True)
        return response

    return do_login


def redis_url() -> str | None:
    """Return a reachable Redis URL, or None; in CI a missing Redis fails instead of skipping."""
    import redis

    url = (
        os.environ.get("TEST_REDIS_URL")
        or os.environ.get("REDIS_URL")
        or "redis://127.0.0.1:6379/15"
    )
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if IN_CI:
            pytest.fail(f"Redis is required in CI but {url} cannot be reached")
        return None
    return url


@pytest.fixture
def redis_server():
    """A real Redis database, emptied before the test; skipped locally when none runs."""
    import redis

    url = redis_url()
    if url is None:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    yield url
    connection.flushdb()


@pytest.fixture
def postgres_only():
    """Skip unless the suite runs on PostgreSQL (row locks and real concurrency)."""
    if not ON_POSTGRES:
        pytest.skip("runs on PostgreSQL only (make test-postgres or CI)")
