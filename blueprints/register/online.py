"""Online orders at the register: accept, pack by scanning, ready, ID check, payment, pickup."""

from flask import abort, get_flashed_messages, redirect, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from blueprints.access import current_store, store_object
from blueprints.fields import FigureField
from blueprints.htmx import form_error_status, is_htmx, navigate, render, wants_fragment
from blueprints.register import bp
from blueprints.register.common import current_operator, tablet_drawer
from blueprints.register.forms import SALE_GRAMS, PayForm
from extensions import db
from models.online.checkout import STATUS_LABELS, display_status
from models.online.fulfilment import (
    accept,
    card_unchecked,
    check_id,
    hand_over,
    mark_ready,
    pack_line,
    packing,
    remove_line,
    unpack_line,
)
from models.online.pickup import settings
from models.people.id_scan import IdScanError, parse_aamva
from models.sales.completion import quick_cash
from models.sales.errors import SaleError
from models.sales.orders import Order
from models.sales.totals import recompute


class PackForm(FlaskForm):
    """The tag of the package a line is packed from, and its weight for goods sold by weight."""

    tag = StringField("Package tag", validators=[DataRequired("Scan the package's tag.")])
    grams = FigureField("Weight (g)", figure=SALE_GRAMS)


class RemoveLineForm(FlaskForm):
    """Why a line cannot be filled, and that the customer agreed to go without it."""

    reason = StringField(
        "Why", validators=[DataRequired("Say why the line cannot be filled."), Length(max=200)]
    )
    agreed = BooleanField("The customer agreed")


class PickupIdForm(FlaskForm):
    """The pickup's ID: the license's barcode, or its name, number and dates typed in."""

    scan = TextAreaField("Scan the ID", validators=[Optional(), Length(max=4000)])
    last_name = StringField("Last name on the ID", validators=[Optional(), Length(max=80)])
    id_number = StringField("ID number", validators=[Optional(), Length(max=40)])
    birth = DateField("Date of birth", validators=[Optional()])
    id_expires = DateField("ID expires", validators=[Optional()])


def _order(order_id: int) -> Order:
    order = store_object(Order, order_id)
    if order.channel != "web":
        abort(404)
    return order


def _screen(order: Order, status: int = 200, message: str | None = None, level="error", **forms):
    """Render the online order screen (the #screen block for htmx)."""
    state = (
        recompute(order) if order.lines and order.status not in ("completed", "voided") else None
    )
    return render(
        "register/online.html",
        block="screen",
        status=status,
        store=current_store(),
        operator=current_operator(),
        order=order,
        current=display_status(order),
        labels=STATUS_LABELS,
        packing=packing(order),
        state=state,
        message=message,
        level=level,
        grace=settings(order.store).grace_minutes,
        drawer=tablet_drawer(),
        quick_cash=quick_cash,
        pack_form=forms.pop("pack_form", None) or PackForm(formdata=None),
        remove_form=forms.pop("remove_form", None) or RemoveLineForm(formdata=None),
        id_form=forms.pop("id_form", None) or PickupIdForm(formdata=None),
        pay_form=PayForm.for_attempt(forms.pop("pay_form", None)),
        failed_line=forms.pop("failed_line", None),
        card_unchecked=card_unchecked(order),
        notices=get_flashed_messages(with_categories=True) if wants_fragment() else [],
    )


def _refused(order_id: int, error: SaleError, **forms):
    """Undo the step and show the order as it was, with the reason."""
    db.session.rollback()
    return _screen(_order(order_id), status=error.status, message=error.message, **forms)


def _done(order_id: int, message: str, level: str = "ok"):
    """Commit the step and show the order again (a browser without htmx is redirected)."""
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("register.online_order", order_id=order_id), 303)
    return _screen(_order(order_id), message=message, level=level)


@bp.get("/online/<id:order_id>")
def online_order(order_id: int):
    """Show an online order: its lines, what is packed, and the next step."""
    order = _order(order_id)
    if order.status == "completed":
        return redirect(url_for("register.receipt", order_id=order.id), 303)
    return _screen(order)


@bp.post("/online/<id:order_id>/accept")
def online_accept(order_id: int):
    """Take the order on; the customer's status page says accepted."""
    # CSRFProtect has already checked the token of every POST.
    try:
        accept(_order(order_id), current_operator())
    except SaleError as error:
        return _refused(order_id, error)
    return _done(order_id, "Accepted. Scan the package of each line to pack it.")


@bp.post("/online/<id:order_id>/lines/<id:line_id>/pack")
def online_pack(order_id: int, line_id: int):
    """Pack a line from the package scanned (its tag must be the ordered product's)."""
    form = PackForm()
    if not form.validate_on_submit():
        message = next(iter(form.errors.values()))[0]
        return _screen(
            _order(order_id),
            form_error_status(),
            message,
            pack_form=form,
            failed_line=line_id,
        )
    try:
        order = _order(order_id)
        warning = pack_line(order, line_id, form.tag.data, current_operator(), form.grams.data)
    except SaleError as error:
        return _refused(order_id, error, pack_form=form, failed_line=line_id)
    if warning:
        return _done(order_id, warning, level="warning")
    return _done(order_id, "Packed.")


@bp.post("/online/<id:order_id>/lines/<id:line_id>/unpack")
def online_unpack(order_id: int, line_id: int):
    """Take a line off the package it was packed from (the wrong jar was scanned)."""
    try:
        warning = unpack_line(_order(order_id), line_id, current_operator())
    except SaleError as error:
        return _refused(order_id, error)
    return _done(order_id, warning or "Unpacked. Scan the right package.", "warning")


@bp.post("/online/<id:order_id>/lines/<id:line_id>/remove")
def online_remove(order_id: int, line_id: int):
    """Drop a line the store cannot fill, with the customer's agreement."""
    form = RemoveLineForm()
    if not form.validate_on_submit():
        message = next(iter(form.errors.values()))[0]
        return _screen(_order(order_id), form_error_status(), message, remove_form=form)
    try:
        order = remove_line(
            _order(order_id), line_id, current_operator(), form.reason.data, form.agreed.data
        )
    except SaleError as error:
        return _refused(order_id, error, remove_form=form)
    if order.status == "cancelled":
        db.session.commit()
        return navigate(url_for("register.home"))
    return _done(order_id, "Line removed; the total is updated.")


@bp.post("/online/<id:order_id>/ready")
def online_ready(order_id: int):
    """Put the packed order on the pickup shelf; the customer is told by e-mail and on the page."""
    try:
        mark_ready(_order(order_id), current_operator())
    except SaleError as error:
        return _refused(order_id, error)
    return _done(order_id, "Ready for pickup. The customer is told.")


@bp.post("/online/<id:order_id>/id")
def online_id(order_id: int):
    """Check the ID of the person picking up: it must be the customer's, valid, old enough."""
    form = PickupIdForm()
    if not form.validate_on_submit():
        message = next(iter(form.errors.values()))[0]
        return _screen(_order(order_id), form_error_status(), message, id_form=form)
    try:
        document = parse_aamva(form.scan.data) if (form.scan.data or "").strip() else None
        check_id(
            _order(order_id),
            current_operator(),
            document=document,
            birth=form.birth.data,
            id_expires=form.id_expires.data,
            last_name=form.last_name.data,
            id_number=form.id_number.data,
        )
    except IdScanError as error:
        db.session.rollback()
        return _screen(_order(order_id), form_error_status(), str(error), id_form=form)
    except SaleError as error:
        return _refused(order_id, error, id_form=form)
    return _done(order_id, "ID checked. Take payment to hand the order over.")


@bp.post("/online/<id:order_id>/complete")
def online_complete(order_id: int):
    """Take payment and complete the pickup in one transaction; a repeat shows the same receipt."""
    order = _order(order_id)
    form = PayForm()
    if not form.validate_on_submit():
        message = next(iter(form.errors.values()))[0]
        return _screen(order, form_error_status(), message, pay_form=form)
    try:
        payments = form.payments(order.total_cents)
        done = hand_over(
            order, payments, form.client_token.data, current_operator(), drawer=tablet_drawer()
        )
    except SaleError as error:
        return _refused(order_id, error, pay_form=form)
    db.session.commit()
    return navigate(url_for("register.receipt", order_id=done.id))
