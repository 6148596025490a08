"""Who may reach what: the staff member acting in this browser, their store, the screen lock.

The person acting is the one who last entered a PIN on this browser (or who signed in, until
someone does); rights and audit rows follow them. Who acts, the lock and the last activity are
kept in the server-side session row, so a copied cookie cannot bring an earlier state back.
"""

from datetime import timedelta
from functools import partial

from flask import Blueprint, Flask, abort, current_app, g, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import OperationalError

from blueprints.htmx import is_htmx, redirect_to
from blueprints.sessions import current_staff, login_row, touch_later
from extensions import db, login_manager
from models.base import utcnow
from models.infra import audit
from models.people.users import LoginSession, User
from models.stores.store import Store

# Activity is written at most this often (a fraction of the idle time, at most a minute), and
# the server locks that much later than the tablet's own timer, so it never locks early.
_MAX_PRECISION = timedelta(seconds=60)


def acting_staff() -> User | None:
    """Return the staff member acting in this browser; None when nobody may act until a PIN."""
    if "acting" in g:
        return g.acting
    staff = current_staff()
    acting = None
    if staff is not None:
        row = login_row()
        person = staff if row.operator_id in (None, staff.id) else row.operator
        acting = person if person is not None and person.active else None
    g.acting = acting
    return acting


def current_store() -> Store | None:
    """Return the store this browser works at (one the person acting works at)."""
    if "store" in g:
        return g.store
    store = None
    person = acting_staff() or current_staff()
    if person is not None:
        stores = person.stores()
        wanted = login_row().store_id
        store = next((s for s in stores if s.id == wanted), stores[0] if stores else None)
    g.store = store
    return store


def choose_store(user: User, store_id: int) -> Store:
    """Move this browser to another store the acting staff member works at; 404 for any other."""
    store = db.session.get(Store, store_id)
    if store is None or user.role_at(store) is None:
        abort(404)
    login_row().store_id = store.id
    g.store = store
    return store


def _idle_limit() -> tuple[timedelta, timedelta]:
    idle = timedelta(seconds=current_app.config["REGISTER_IDLE_LOCK_SECONDS"])
    return idle, min(_MAX_PRECISION, idle / 10)


def screen_locked() -> bool:
    """Say whether this browser waits for a PIN: locked by hand, idle too long, or nobody to act."""
    row = login_row()
    if row.locked_at is not None:
        return True
    now = utcnow()
    idle, precision = _idle_limit()
    if acting_staff() is None:
        _lock_now(row, now, "register.lock", "The person acting is no longer active.")
    elif row.idle_for(now) > idle + precision:
        minutes = int(row.idle_for(now).total_seconds() // 60)
        _lock_now(row, now, "register.idle_lock", f"Nobody used it for {minutes} min.")
    return row.locked_at is not None


def _lock_now(row: LoginSession, now, action: str, reason: str) -> None:
    """Record the lock at once (this request may be a GET that never commits)."""
    row.lock(now)
    store = current_store()
    audit.record(action, store_id=store.id if store else None, user_id=row.acting_id, reason=reason)
    try:
        db.session.commit()
    except OperationalError:
        # The lock holds anyway: it is worked out again from the same row on the next request.
        db.session.rollback()
        current_app.logger.warning("could not record the screen lock")
        login_row().lock(now)


def note_activity() -> None:
    """Count this request as someone using the browser (it keeps the idle lock away)."""
    row = login_row()
    now = utcnow()
    _, precision = _idle_limit()
    if row.idle_for(now) >= precision:
        touch_later(active_at=now)


def to_lock_screen():
    """Send the browser to the PIN screen, and back to this page after the PIN."""
    back = request.full_path.rstrip("?") if request.method == "GET" and not is_htmx() else None
    return redirect_to(url_for("register.switch", next=back))


def while_locked(view):
    """Mark a view of the PIN screen itself: a locked browser still reaches it."""
    view.while_locked = True
    return view


def polled(view):
    """Mark a view the page calls by itself: it does not count as someone using the browser."""
    view.polled = True
    return view


def admit(minimum_role: str = "budtender") -> ResponseReturnValue | None:
    """Let through the acting staff member when they hold `minimum_role` here; 403 otherwise.

    Returns where to send anyone else: the login page, or the PIN screen when the browser is
    locked, unless the view is part of it (`while_locked`). Views marked `polled` do not keep
    the lock away.
    """
    view = current_app.view_functions.get(request.endpoint or "")
    staff = current_staff()
    if staff is None or not staff.is_authenticated:
        return login_manager.unauthorized()
    locked = screen_locked()
    if locked and not getattr(view, "while_locked", False):
        return to_lock_screen()
    person = acting_staff() or staff
    store = current_store()
    if store is None or not person.has_role(store, minimum_role):
        abort(403)
    if not (locked or getattr(view, "polled", False)):
        note_activity()
    return None


def guard(blueprint: Blueprint, minimum_role: str) -> None:
    """Admit to every view of a surface only staff holding `minimum_role` at this store."""
    blueprint.before_request(partial(admit, minimum_role))


def init_app(app: Flask) -> None:
    """Let templates name the staff member acting (acting_staff())."""
    app.context_processor(lambda: {"acting_staff": acting_staff})


def store_object(model, object_id: int):
    """Return a row of the current store by id, or 404 (never reveal another store's rows)."""
    row = db.session.get(model, object_id)
    store = current_store()
    if row is None or store is None or row.store_id != store.id:
        abort(404)
    return row
