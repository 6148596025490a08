"""What every register view needs: who is selling, the screen lock, the tablet's drawer."""

from functools import wraps

from flask import current_app, session, url_for

from blueprints.access import current_store
from blueprints.htmx import redirect_to
from blueprints.numbers import real_id  # noqa: F401 - the register's views take it from here
from blueprints.sessions import current_staff
from extensions import db
from models import audit
from models.cash_drawer import CashDrawer, usable_drawer
from models.numbers import parse_id
from models.register_pins import try_pin
from models.users import User


def current_operator() -> User:
    """Return the budtender running the register now (the signed-in user until someone switches)."""
    store = current_store()
    staff = current_staff()
    operator_id = session.get("operator_id")
    if operator_id and operator_id != staff.id:
        operator = db.session.get(User, operator_id)
        if operator is not None and operator.active and operator.role_at(store):
            return operator
    return staff


def unlocked(view):
    """Send a locked register to the PIN screen instead of running the view."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if session.get("register_locked"):
            return redirect_to(url_for("register.switch"))
        return view(*args, **kwargs)

    return wrapper


def tablet_drawer() -> CashDrawer | None:
    """Return the open cash drawer this tablet uses, if any."""
    return usable_drawer(current_store(), session.get("drawer_id"))


def tablet_has_drawer() -> bool:
    """Say whether this tablet opened or took a drawer (without reading it)."""
    return bool(session.get("drawer_id"))


class ApprovalRefused(ValueError):
    """A manager's approval that did not hold, with the message for the form."""


def managers_here() -> list[User]:
    """Return the staff of this store who may approve (managers and admins with a PIN)."""
    from models.users import staff_at

    store = current_store()
    return [u for u in staff_at(store) if u.has_role(store, "manager")]


def approve(manager_id: str | None, pin: str | None) -> User | None:
    """Check a manager's PIN; None when none was given, ApprovalRefused when it is wrong."""
    if not manager_id and not pin:
        return None
    store = current_store()
    wanted = parse_id(manager_id)
    manager = db.session.get(User, wanted) if wanted else None
    if manager is None or not manager.has_role(store, "manager") or not manager.active:
        raise ApprovalRefused("Choose the manager who approves.")
    if not pin:
        raise ApprovalRefused(f"{manager.first_name} must enter their PIN.")
    config = current_app.config
    result = try_pin(manager, pin, config["PIN_LOCK_AFTER"], config["PIN_LOCK_MINUTES"])
    if not result.ok:
        audit.record("register.approval_pin_failed", store_id=store.id, user_id=manager.id)
        db.session.commit()
        raise ApprovalRefused(result.message)
    return manager
