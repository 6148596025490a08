"""Ask for work once the transaction commits: models/ names it, jobs/ carries it out."""

from extensions import db

# One ordered list per session of what waits for the commit; jobs/queues.py empties it.
PENDING = "pistil.after_commit"


def after_commit(kind: str, row_id: int) -> None:
    """Ask for `kind`'s work on a row (a report to send, a mail) once this transaction commits."""
    plan((kind, row_id))


def plan(item: object) -> None:
    """Add an item to the work that waits for this transaction's commit."""
    if db.session().get_transaction() is None:
        # Without a transaction a rollback emits no event and would leave the work behind.
        db.session.begin()
    db.session.info.setdefault(PENDING, []).append(item)
