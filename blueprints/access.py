"""Who may reach what: staff roles per store, the store a staff member works in right now."""

from functools import wraps

from flask import abort, g, session
from flask_login import current_user

from extensions import db, login_manager
from models.stores import Store
from models.users import User


def current_store() -> Store | None:
    """Return the store the signed-in staff member is working in."""
    if "store" in g:
        return g.store
    store = None
    if isinstance(current_user, User):
        stores = current_user.stores()
        wanted = session.get("store_id")
        store = next((s for s in stores if s.id == wanted), stores[0] if stores else None)
    g.store = store
    return store


def choose_store(user: User, store_id: int) -> Store:
    """Switch the staff member to another store they work at; 404 for any other."""
    store = db.session.get(Store, store_id)
    if store is None or user.role_at(store) is None:
        abort(404)
    session["store_id"] = store.id
    g.store = store
    return store


def staff_required(minimum_role: str = "budtender"):
    """Let through staff holding at least `minimum_role` at their current store; 403 otherwise."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not isinstance(current_user, User) or not current_user.is_authenticated:
                return login_manager.unauthorized()
            store = current_store()
            if store is None or not current_user.has_role(store, minimum_role):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def store_object(model, object_id: int):
    """Return a row of the current store by id, or 404 (never reveal another store's rows)."""
    row = db.session.get(model, object_id)
    store = current_store()
    if row is None or store is None or row.store_id != store.id:
        abort(404)
    return row
