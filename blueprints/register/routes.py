"""Register pages: the home screen with check-in and the queue, switching budtender, locking."""

from flask import abort, current_app, request, session, url_for

from blueprints.access import (
    acting_staff,
    choose_store,
    current_store,
    polled,
    screen_locked,
    while_locked,
)
from blueprints.htmx import form_error_status, fragment_of, redirect_to, render
from blueprints.ratelimits import count_failures, pin_key, pin_limit
from blueprints.redirects import safe_next
from blueprints.register import bp
from blueprints.register.common import current_operator, tablet_drawer
from blueprints.register.forms import (
    CustomerSearchForm,
    ManualCheckInForm,
    PinForm,
    ScanIdForm,
    StoreForm,
)
from blueprints.sessions import login_row
from extensions import db, limiter
from models.base import utcnow
from models.infra import audit
from models.infra.numbers import parse_id
from models.people.register_pins import try_pin
from models.people.users import User, staff_at
from models.sales.dashboard import online_queue, summary
from models.sales.listing import open_register_sales

__all__ = ["current_operator"]


def _switch_page(status: int = 200, form: PinForm | None = None, chosen: User | None = None):
    store = current_store()
    return render(
        "register/switch.html",
        block="switcher",
        status=status,
        store=store,
        staff=staff_at(store),
        chosen=chosen,
        form=form or PinForm(),
        locked=screen_locked(),
        back=safe_next(None),
        idle_seconds=current_app.config["REGISTER_IDLE_LOCK_SECONDS"],
    )


def queue_context() -> dict:
    """Return what the customer queue shows: checked-in walk-ins and online orders."""
    store = current_store()
    return {"walk_ins": open_register_sales(store), "online": online_queue(store)}


def home_page(status: int = 200, block: str | None = "screen", **forms):
    """Render the home screen: check-in on one side, the queue on the other."""
    store = current_store()
    forms.setdefault("scan_form", ScanIdForm())
    forms.setdefault("manual_form", ManualCheckInForm())
    forms.setdefault("search_form", CustomerSearchForm(formdata=None))
    return render(
        "register/home.html",
        block=block,
        status=status,
        operator=current_operator(),
        store=store,
        figures=summary(store),
        drawer=tablet_drawer(),
        store_form=StoreForm(),
        idle_seconds=current_app.config["REGISTER_IDLE_LOCK_SECONDS"],
        **queue_context(),
        **forms,
    )


@bp.get("/")
@while_locked
def home():
    """Show the register home: check a customer in, the queue, today's figures."""
    if screen_locked():
        return _switch_page()
    return home_page()


@bp.get("/queue")
@polled
@fragment_of("register.home")
def queue():
    """Return the customer queue (the home screen polls it)."""
    return render(
        "register/home.html",
        block="queue",
        store=current_store(),
        operator=current_operator(),
        **queue_context(),
    )


@bp.get("/switch")
@while_locked
def switch():
    """Show the staff tiles; with ?user=ID, the PIN pad for that budtender."""
    chosen = None
    wanted = parse_id(request.args.get("user"))
    if wanted is not None:
        chosen = db.session.get(User, wanted)
        if chosen is None or chosen.role_at(current_store()) is None:
            abort(404)
    form = PinForm(user_id=chosen.id if chosen else None)
    return _switch_page(form=form, chosen=chosen)


@bp.post("/switch")
@while_locked
@limiter.limit(pin_limit, key_func=pin_key, deduct_when=count_failures)
def switch_submit():
    """Hand the register (and the back office) to the staff member whose PIN this is."""
    form = PinForm()
    store = current_store()
    wanted = parse_id(form.user_id.data)
    chosen = db.session.get(User, wanted) if wanted else None
    if chosen is None or chosen.role_at(store) is None or not chosen.active:
        form.form_errors.append("Tap your name first.")
        return _switch_page(form_error_status(), form)
    if not form.validate_on_submit():
        return _switch_page(form_error_status(), form, chosen)
    config = current_app.config
    result = try_pin(chosen, form.pin.data, config["PIN_LOCK_AFTER"], config["PIN_LOCK_MINUTES"])
    if not result.ok:
        audit.record("register.pin_failed", store_id=store.id, user_id=chosen.id)
        db.session.commit()
        form.pin.errors.append(result.message)
        return _switch_page(form_error_status(), form, chosen)
    row = login_row()
    previous = row.acting_id
    row.hand_to(chosen, utcnow())
    audit.record("register.switch", store_id=store.id, user_id=chosen.id, previous_user_id=previous)
    db.session.commit()
    home = url_for("register.home")
    back = safe_next(home)
    if back.startswith(url_for("manage.dashboard")) and not chosen.has_role(store, "manager"):
        back = home  # a budtender taking over from the back office starts at the register
    return redirect_to(back)


@bp.post("/lock")
@while_locked
def lock():
    """Lock the register until a budtender enters a PIN (idle timer or the lock button)."""
    row = login_row()
    row.lock(utcnow())
    audit.record("register.lock", store_id=current_store().id, user_id=row.acting_id)
    db.session.commit()
    return redirect_to(url_for("register.switch", next=safe_next(None)))


@bp.post("/activity")
def activity():
    """Note that someone is using the tablet (typing in a long form sends nothing else)."""
    return "", 204


@bp.post("/store")
def change_store():
    """Move this tablet to another store the staff member acting works at; they stay acting."""
    form = StoreForm()
    if not form.validate_on_submit():
        abort(400)
    choose_store(acting_staff(), form.store_id.data)
    session.pop("drawer_id", None)
    db.session.commit()
    return redirect_to(url_for("register.home"))
