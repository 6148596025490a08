"""The cash drawer: open with a float, drops and paid-outs, close with a count, print the report."""

from flask import request, session, url_for

from blueprints.access import current_store, staff_required, store_object
from blueprints.htmx import form_error_status, navigate, render
from blueprints.register import bp
from blueprints.register.common import current_operator, real_id, tablet_drawer, unlocked
from blueprints.register.forms import DrawerCloseForm, DrawerMoveForm, DrawerOpenForm
from extensions import db
from models.cash_drawer import (
    DENOMINATIONS,
    CashDrawer,
    DrawerError,
    close_drawer,
    open_drawer,
    open_drawers,
    recent_drawers,
    take_out,
    totals,
)
from models.numbers import parse_count
from models.sales import SaleError, parse_cents


def _page(status: int = 200, block: str = "screen", error: str | None = None, **forms):
    store = current_store()
    drawer = tablet_drawer()
    forms.setdefault("open_form", DrawerOpenForm(formdata=None))
    forms.setdefault("move_form", DrawerMoveForm(formdata=None))
    forms.setdefault("close_form", DrawerCloseForm(formdata=None))
    return render(
        "register/drawer.html",
        block=block,
        status=status,
        store=store,
        operator=current_operator(),
        drawer=drawer,
        figures=totals(drawer) if drawer else None,
        others=[d for d in open_drawers(store) if drawer is None or d.id != drawer.id],
        recent=recent_drawers(store, 5),
        denominations=DENOMINATIONS,
        counts=forms.pop("counts", {}),
        error=error,
        **forms,
    )


@bp.get("/drawer")
@staff_required("budtender")
@unlocked
def drawer():
    """Show this tablet's drawer: its float, cash taken, drops, and the closing count."""
    return _page()


@bp.post("/drawer/open")
@staff_required("budtender")
@unlocked
def drawer_open():
    """Open a drawer on this tablet with the float counted into it."""
    form = DrawerOpenForm()
    if not form.validate_on_submit():
        return _page(form_error_status(), open_form=form)
    try:
        amount = parse_cents(form.float_amount.data)
        opened = open_drawer(current_store(), form.name.data, amount or 0, current_operator())
    except (DrawerError, SaleError) as error:
        db.session.rollback()
        message = error.message if isinstance(error, SaleError) else str(error)
        return _page(form_error_status(), error=message, open_form=form)
    db.session.commit()
    session["drawer_id"] = opened.id
    return navigate(url_for("register.drawer"))


@bp.post("/drawer/<int:drawer_id>/use")
@staff_required("budtender")
@unlocked
def drawer_use(drawer_id: int):
    """Use an already open drawer on this tablet (e.g. after a tablet swap)."""
    chosen = store_object(CashDrawer, real_id(drawer_id))
    if not chosen.is_open:
        return _page(409, error=f"{chosen.name} is closed.")
    session["drawer_id"] = chosen.id
    return navigate(url_for("register.drawer"))


@bp.post("/drawer/move")
@staff_required("budtender")
@unlocked
def drawer_move():
    """Record a cash drop to the safe or a paid-out from this tablet's drawer."""
    form = DrawerMoveForm()
    current = tablet_drawer()
    if current is None:
        return _page(409, error="Open a drawer on this tablet first.")
    if not form.validate_on_submit():
        return _page(form_error_status(), move_form=form)
    try:
        amount = parse_cents(form.amount.data) or 0
        take_out(current, form.kind.data, amount, form.reason.data, current_operator())
    except (DrawerError, SaleError) as error:
        db.session.rollback()
        message = error.message if isinstance(error, SaleError) else str(error)
        return _page(form_error_status(), error=message, move_form=form)
    db.session.commit()
    return _page()


@bp.post("/drawer/close")
@staff_required("budtender")
@unlocked
def drawer_close():
    """Close this tablet's drawer with a count by denomination; show the closing report."""
    form = DrawerCloseForm()
    current = tablet_drawer()
    if current is None:
        return _page(409, error="This tablet has no open drawer.")
    counts: dict[int, int] = {}
    raw_counts = {}
    bad = None
    for value, label in DENOMINATIONS:
        raw = (request.form.get(f"count-{value}") or "").strip()
        raw_counts[value] = raw
        if not raw:
            continue
        count = parse_count(raw, maximum=100000)
        if count is None:
            bad = f"Count the {label} again: “{raw}” is not a number of notes or coins."
            continue
        counts[value] = count
    if not form.validate_on_submit() or bad:
        return _page(form_error_status(), error=bad, close_form=form, counts=raw_counts)
    try:
        closed = close_drawer(current, counts, current_operator(), form.note.data or "")
    except DrawerError as error:
        db.session.rollback()
        return _page(form_error_status(), error=str(error), close_form=form, counts=raw_counts)
    db.session.commit()
    session.pop("drawer_id", None)
    return navigate(url_for("register.drawer_report", drawer_id=closed.id))


@bp.get("/drawer/<int:drawer_id>/report")
@staff_required("budtender")
@unlocked
def drawer_report(drawer_id: int):
    """Show a drawer's printable closing report: expected, counted, over/short, every entry."""
    shown = store_object(CashDrawer, real_id(drawer_id))
    return render(
        "register/drawer_report.html",
        block="screen",
        store=current_store(),
        operator=current_operator(),
        drawer=shown,
        figures=totals(shown),
        denominations=DENOMINATIONS,
    )
