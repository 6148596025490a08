"""Signing staff and customers in and out, with a server-side row per session so logout is final."""

from datetime import timedelta

from flask import (
    Flask,
    after_this_request,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from sqlalchemy.exc import OperationalError

from blueprints.htmx import full_redirect, is_htmx
from extensions import db, login_manager
from models.base import utcnow
from models.people.customers import Customer
from models.people.users import LoginSession, User

_TOUCH_EVERY = timedelta(seconds=60)


def sign_in(principal: User | Customer) -> None:
    """Start a fresh session for a staff member or a customer."""
    session.clear()
    if isinstance(principal, User):
        stores = principal.stores()
        token = LoginSession.open(user_id=principal.id, store_id=stores[0].id if stores else None)
    else:
        token = LoginSession.open(customer_id=principal.id)
    session["sid"] = token
    session.permanent = True
    login_user(principal)


def sign_out() -> None:
    """End the session on the server and in the browser."""
    row = LoginSession.find(session.get("sid"))
    if row is not None and row.revoked_at is None:
        row.revoke()
    logout_user()
    session.clear()


def _load(principal_id: str):
    row = LoginSession.find(session.get("sid"), with_staff=True)
    config = current_app.config
    now = utcnow()
    if row is None or not row.is_live(
        timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
        timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]),
        now,
    ):
        return None
    kind, _, raw_id = principal_id.partition(":")
    if not raw_id.isdigit():
        return None
    if kind == "staff" and row.user_id == int(raw_id):
        principal = row.user
    elif kind == "customer" and row.customer_id == int(raw_id):
        principal = db.session.get(Customer, row.customer_id)
    else:
        return None
    g.login_session = row
    # Reading pages do not write on every hit; a minute's precision is enough for idle expiry.
    if now - row.last_seen_at > _TOUCH_EVERY:
        touch_later(last_seen_at=now)
    return principal


def login_row() -> LoginSession | None:
    """Return this browser's live session row, if someone is signed in."""
    if current_user.is_authenticated:
        return g.get("login_session")
    return None


def touch_later(**values) -> None:
    """Record session activity in its own short transaction after the response.

    GETs stay read-only, and a view that rolls back (a refused form) still counts as activity.
    """
    pending = g.setdefault("session_touch", {})
    if not pending:
        token_hash = g.login_session.token_hash

        @after_this_request
        def touch(response):
            db.session.rollback()
            try:
                db.session.execute(
                    LoginSession.__table__.update()
                    .where(LoginSession.token_hash == token_hash)
                    .values(**pending)
                )
                db.session.commit()
            except OperationalError:
                # A busy database must not fail the page; the next request touches again.
                db.session.rollback()
                current_app.logger.warning("could not record session activity")
            return response

    pending.update(values)


def _unauthorized():
    endpoint = request.endpoint or ""
    if endpoint.startswith(("register.", "manage.")):
        target = url_for("auth.staff_login", next=request.path)
        message = "Please sign in to continue."
    else:
        target = url_for("auth.customer_login", next=request.path)
        message = "Please sign in to your account."
    if is_htmx():
        return full_redirect(make_response("", 401), target)
    flash(message, "info")
    return redirect(target)


def init_app(app: Flask) -> None:
    """Wire the session loader and the not-signed-in answer into Flask-Login."""
    login_manager.user_loader(_load)
    login_manager.unauthorized_handler(_unauthorized)
    login_manager.session_protection = "strong"


def current_staff() -> User | None:
    """Return the staff member who signed in with a password (rights follow access.acting_staff)."""
    return current_user if isinstance(current_user, User) else None


def current_customer() -> Customer | None:
    """Return the signed-in customer, if any."""
    return current_user if isinstance(current_user, Customer) else None
