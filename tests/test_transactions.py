"""A request that only read ends its transaction with COMMIT; anything else still rolls back."""

import pytest
from flask import abort
from sqlalchemy import event, select, update

from extensions import db
from models.stores.store import Store


@pytest.fixture
def ends(app, store):
    """Register views that read, write or fail; count how their transactions end."""
    counts = {"commit": 0, "rollback": 0}
    store_id, original = store.id, store.name

    def read():
        return db.session.scalar(select(Store.name).where(Store.id == store_id))

    def display_only():
        # A page that works something out on a row without saving it.
        db.session.get(Store, store_id).name = "Not saved"
        return "ok"

    def flushed_without_commit():
        db.session.execute(update(Store).where(Store.id == store_id).values(name="Not saved"))
        return "ok"

    def fails():
        db.session.get(Store, store_id).name = "Not saved"
        db.session.flush()
        abort(500)

    for view in (read, display_only, flushed_without_commit, fails):
        app.add_url_rule(f"/test/{view.__name__}", view.__name__, view)
    with app.app_context():
        engine = db.engine
    # The test's own session holds no transaction (on SQLite it would hold the write lock).
    db.session.rollback()
    for kind in counts:

        def count(conn, kind=kind):
            counts[kind] += 1

        event.listen(engine, kind, count)
    yield counts, original, store_id


def name_now(store_id: int) -> str:
    db.session.rollback()
    return db.session.scalar(select(Store.name).where(Store.id == store_id))


def test_a_read_only_request_commits(client, ends):
    counts, original, store_id = ends
    assert client.get("/test/read").get_data(as_text=True) == original
    assert counts == {"commit": 1, "rollback": 0}


def test_changes_made_only_for_display_are_not_saved(client, ends):
    counts, original, store_id = ends
    assert client.get("/test/display_only").status_code == 200
    assert name_now(store_id) == original


def test_a_request_that_wrote_without_committing_rolls_back(client, ends):
    counts, original, store_id = ends
    assert client.get("/test/flushed_without_commit").status_code == 200
    assert counts == {"commit": 0, "rollback": 1}
    assert name_now(store_id) == original


def test_a_failed_request_rolls_back(client, ends):
    counts, original, store_id = ends
    assert client.get("/test/fails").status_code == 500
    assert counts == {"commit": 0, "rollback": 1}
    assert name_now(store_id) == original
