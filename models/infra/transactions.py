"""End each request's read-only transaction with COMMIT, so PostgreSQL keeps prepared statements."""

# psycopg prepares a statement on the server after its fifth run on a connection, which saves the
# planning (about a millisecond for the register's joined reads), but it forgets every prepared
# statement on ROLLBACK. Flask-SQLAlchemy ends each request by rolling back whatever is open, so
# without this no statement would ever stay prepared. For a transaction that wrote nothing, COMMIT
# and ROLLBACK are the same; anything that wrote, failed or has unsaved changes still rolls back.

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from extensions import db

# Statements that leave nothing behind a COMMIT would keep and a ROLLBACK would undo.
_READS = ("SELECT", "BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA", "SHOW")


def install(app: Flask, engine: Engine) -> None:
    """Track writes per connection and commit read-only transactions when a request ends."""

    @event.listens_for(engine, "before_cursor_execute")
    def note_writes(conn: Connection, cursor, statement: str, *args) -> None:
        if not statement.lstrip()[:9].upper().startswith(_READS):
            conn.info["pistil.wrote"] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def forget_writes(conn: Connection) -> None:
        conn.info.pop("pistil.wrote", None)

    @app.teardown_appcontext
    def end_reads_with_commit(error: BaseException | None) -> None:
        session = db.session()
        connection = session.info.pop("pistil.connection", None)
        if error is not None or connection is None or connection.closed:
            return
        if not connection.in_transaction() or connection.info.get("pistil.wrote"):
            return
        if session.new or session.deleted:
            return
        # Changes made only for display (a cart's totals worked out for a page) are dropped, as
        # the rollback would drop them; nothing was flushed, so the commit writes nothing.
        session.expire_all()
        try:
            session.commit()
        except Exception:  # noqa: BLE001 - Flask-SQLAlchemy's teardown rolls back after this
            session.rollback()


@event.listens_for(Session, "after_begin")
def _remember_connection(session: Session, transaction, connection: Connection) -> None:
    session.info["pistil.connection"] = connection
