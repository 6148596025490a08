"""Register pages: the home screen, switching budtender by PIN, locking the screen."""

from flask import abort, current_app, session, url_for

from blueprints.access import choose_store, current_store, staff_required
from blueprints.htmx import form_error_status, redirect_to, render
from blueprints.ratelimits import count_failures, pin_key, pin_limit
from blueprints.register import bp
from blueprints.register.forms import PinForm, StoreForm
from blueprints.sessions import current_staff
from extensions import db, limiter
from models import audit
from models.dashboard import online_queue, summary
from models.register_pins import try_pin
from models.users import User, staff_at


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
        locked=session.get("register_locked", False),
        idle_seconds=current_app.config["REGISTER_IDLE_LOCK_SECONDS"],
    )


@bp.get("/")
@staff_required("budtender")
def home():
    """Show the register home: who is selling, today's figures, the online queue."""
    if session.get("register_locked"):
        return _switch_page()
    store = current_store()
    return render(
        "register/home.html",
        operator=current_operator(),
        store=store,
        figures=summary(store),
        queue=online_queue(store),
        store_form=StoreForm(),
        idle_seconds=current_app.config["REGISTER_IDLE_LOCK_SECONDS"],
    )


@bp.get("/switch")
@staff_required("budtender")
def switch():
    """Show the staff tiles; with ?user=ID, the PIN pad for that budtender."""
    from flask import request

    chosen = None
    if request.args.get("user", "").isdigit():
        chosen = db.session.get(User, int(request.args["user"]))
        if chosen is None or chosen.role_at(current_store()) is None:
            abort(404)
    form = PinForm(user_id=chosen.id if chosen else None)
    return _switch_page(form=form, chosen=chosen)


@bp.post("/switch")
@staff_required("budtender")
@limiter.limit(pin_limit, key_func=pin_key, deduct_when=count_failures)
def switch_submit():
    """Hand the register to the budtender whose PIN this is."""
    form = PinForm()
    store = current_store()
    chosen = None
    if form.user_id.data and str(form.user_id.data).isdigit():
        chosen = db.session.get(User, int(form.user_id.data))
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
    previous = current_operator()
    session["operator_id"] = chosen.id
    session.pop("register_locked", None)
    audit.record(
        "register.switch", store_id=store.id, user_id=chosen.id, previous_user_id=previous.id
    )
    db.session.commit()
    return redirect_to(url_for("register.home"))


@bp.post("/lock")
@staff_required("budtender")
def lock():
    """Lock the register until a budtender enters a PIN (idle timer or the lock button)."""
    session["register_locked"] = True
    audit.record("register.lock", store_id=current_store().id, user_id=current_operator().id)
    db.session.commit()
    return redirect_to(url_for("register.switch"))


@bp.post("/store")
@staff_required("budtender")
def change_store():
    """Move this tablet to another store the signed-in staff member works at."""
    form = StoreForm()
    if not form.validate_on_submit():
        abort(400)
    choose_store(current_staff(), form.store_id.data)
    session.pop("operator_id", None)
    return redirect_to(url_for("register.home"))
