"""The cash drawer: open with a float, drops and paid-outs, a blind closing count, the report."""

from flask import redirect, session, url_for

from blueprints.access import current_store, store_object
from blueprints.htmx import form_error_status, navigate, render
from blueprints.numbers import real_id
from blueprints.register import bp
from blueprints.register.common import (
    ApprovalRefused,
    approve,
    current_operator,
    managers_here,
)
from blueprints.register.forms import (
    DrawerApprovalForm,
    DrawerCloseForm,
    DrawerMoveForm,
    DrawerOpenForm,
)
from extensions import db
from models.infra import audit
from models.infra.numbers import parse_id
from models.sales.cash_drawer import (
    DENOMINATIONS,
    CashDrawer,
    DrawerError,
    DrawerShort,
    approve_count,
    count_drawer,
    drawer_in_use,
    open_drawer,
    open_drawers,
    recent_drawers,
    take_out,
    totals,
)


def _in_use() -> CashDrawer | None:
    """Return this tablet's drawer while it is open or waits for a manager's approval."""
    return drawer_in_use(current_store(), session.get("drawer_id"))


def _page(status: int = 200, block: str = "screen", error: str | None = None, **forms):
    store = current_store()
    drawer = _in_use()
    forms.setdefault("open_form", DrawerOpenForm(formdata=None))
    forms.setdefault("move_form", DrawerMoveForm(formdata=None))
    forms.setdefault("close_form", DrawerCloseForm(formdata=None))
    forms.setdefault("approval_form", DrawerApprovalForm(formdata=None))
    return render(
        "register/drawer.html",
        block=block,
        status=status,
        store=store,
        operator=current_operator(),
        drawer=drawer,
        figures=totals(drawer) if drawer else None,
        managers=managers_here() if drawer and drawer.awaiting_approval else [],
        others=[d for d in open_drawers(store) if drawer is None or d.id != drawer.id],
        recent=recent_drawers(store, 5),
        denominations=DENOMINATIONS,
        counts=forms.pop("counts", {}),
        error=error,
        **forms,
    )


@bp.get("/drawer")
def drawer():
    """Show this tablet's drawer: its float, cash taken, drops, and the closing count."""
    return _page()


@bp.post("/drawer/open")
def drawer_open():
    """Open a drawer on this tablet with the float counted into it."""
    form = DrawerOpenForm()
    if not form.validate_on_submit():
        return _page(form_error_status(), open_form=form)
    try:
        opened = open_drawer(
            current_store(), form.name.data, form.float_amount.data, current_operator()
        )
    except DrawerError as error:
        db.session.rollback()
        return _page(form_error_status(), error=str(error), open_form=form)
    db.session.commit()
    session["drawer_id"] = opened.id
    return navigate(url_for("register.drawer"))


@bp.post("/drawer/<id:drawer_id>/use")
def drawer_use(drawer_id: int):
    """Use an already open drawer on this tablet (a tablet swap, or a manager to approve it)."""
    chosen = store_object(CashDrawer, drawer_id)
    if chosen.status != "open":
        return _page(409, error=f"{chosen.name} is closed.")
    session["drawer_id"] = chosen.id
    return navigate(url_for("register.drawer"))


@bp.post("/drawer/move")
def drawer_move():
    """Record a cash drop to the safe or a paid-out from this tablet's drawer."""
    form = DrawerMoveForm()
    current = _in_use()
    if current is None or not current.is_open:
        return _page(409, error="Open a drawer on this tablet first.")
    if not form.validate_on_submit():
        return _page(form_error_status(), move_form=form)
    operator = current_operator()
    amount = form.amount.data
    try:
        take_out(current, form.kind.data, amount, form.reason.data, operator)
    except DrawerError as error:
        db.session.rollback()
        if isinstance(error, DrawerShort):
            # Each refusal tells a little about what the drawer holds: leave a trail of probing.
            audit.record(
                "drawer.overdraw_refused",
                store_id=current_store().id,
                user_id=operator.id,
                obj=current,
                amount_cents=amount,
            )
            db.session.commit()
        return _page(form_error_status(), error=str(error), move_form=form)
    db.session.commit()
    return _page()


def _chosen(raw) -> CashDrawer | None:
    """Return the drawer a form names (404 for another store's), else this tablet's."""
    if raw:
        return store_object(CashDrawer, real_id(parse_id(raw)))
    return _in_use()


@bp.post("/drawer/close")
def drawer_close():
    """Count this tablet's drawer blind; close it, or show the over/short for a manager."""
    form = DrawerCloseForm()
    current = _chosen(form.drawer_id.data)
    if current is None:
        return _page(409, error="This tablet has no open drawer.")
    raw_counts = form.typed_counts()
    if not form.validate_on_submit():
        error = form.count_error()
        return _page(form_error_status(), error=error, close_form=form, counts=raw_counts)
    try:
        counted = count_drawer(current, form.counts(), current_operator(), form.note.data or "")
    except DrawerError as error:
        db.session.rollback()
        return _page(error.status, error=str(error), close_form=form, counts=raw_counts)
    db.session.commit()
    if counted.awaiting_approval:
        session["drawer_id"] = counted.id
        return _page()
    if session.get("drawer_id") == counted.id:
        session.pop("drawer_id")
    return navigate(url_for("register.drawer_report", drawer_id=counted.id))


@bp.post("/drawer/approve")
def drawer_approve():
    """Close a drawer whose over/short is beyond the allowance, with a manager's PIN and reason."""
    form = DrawerApprovalForm()
    current = _chosen(form.drawer_id.data or "0")
    if not form.validate_on_submit():
        return _page(form_error_status(), approval_form=form)
    try:
        manager = approve(form.manager_id.data, form.manager_pin.data)
        closed = approve_count(current, manager, form.reason.data, current_operator())
    except (DrawerError, ApprovalRefused) as error:
        db.session.rollback()
        form.manager_pin.data = ""
        status = error.status if isinstance(error, DrawerError) else form_error_status()
        return _page(status, error=str(error), approval_form=form)
    db.session.commit()
    if session.get("drawer_id") == closed.id:
        session.pop("drawer_id")
    return navigate(url_for("register.drawer_report", drawer_id=closed.id))


@bp.post("/drawer/leave")
def drawer_leave():
    """Leave a counted drawer for a manager to approve from any tablet."""
    session.pop("drawer_id", None)
    return navigate(url_for("register.drawer"))


@bp.get("/drawer/<id:drawer_id>/report")
def drawer_report(drawer_id: int):
    """Show a drawer's printable closing report: expected, counted, over/short, every entry."""
    shown = store_object(CashDrawer, drawer_id)
    if shown.is_open:
        # The count is blind: what the drawer should hold shows only once it was counted.
        return redirect(url_for("register.drawer"), 303)
    return render(
        "register/drawer_report.html",
        block="screen",
        store=current_store(),
        operator=current_operator(),
        drawer=shown,
        figures=totals(shown),
        denominations=DENOMINATIONS,
    )
