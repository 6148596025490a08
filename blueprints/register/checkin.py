"""Checking customers in: scan the license, type it in, or find a returning customer."""

from flask import abort, flash, request, url_for

from blueprints.access import current_store, staff_required
from blueprints.htmx import form_error_status, fragment_of, navigate, render
from blueprints.register import bp
from blueprints.register.common import current_operator, real_id, unlocked
from blueprints.register.forms import ManualCheckInForm, ScanIdForm, SearchForm
from blueprints.register.routes import home_page
from extensions import db
from models import audit
from models.checkin import (
    check_in_customer,
    check_in_document,
    check_in_manual,
    search_customers,
)
from models.customers import Customer
from models.id_scan import CheckInRefused, IdScanError, parse_aamva


def _refused(message: str, status: int = 422, **forms):
    """Show the check-in again with the reason, and keep the refusal on the audit trail."""
    db.session.rollback()
    audit.record(
        "register.checkin_refused",
        store_id=current_store().id,
        user_id=current_operator().id,
        reason=message[:300],
    )
    db.session.commit()
    return home_page(status=status, block="checkin", checkin_error=message, **forms)


def _checked_in(check_in):
    order_id = check_in.order.id
    db.session.commit()
    if check_in.eligibility.notice:
        flash(check_in.eligibility.notice, "warning")
    return navigate(url_for("register.sale", order_id=order_id))


@bp.post("/checkin/scan")
@staff_required("budtender")
@unlocked
def checkin_scan():
    """Check in the holder of a scanned license (the scanner types the barcode's text)."""
    form = ScanIdForm()
    if not form.validate_on_submit():
        return home_page(status=form_error_status(), block="checkin", scan_form=form)
    try:
        document = parse_aamva(form.scan.data)
        check_in = check_in_document(
            current_store(),
            document,
            current_operator(),
            card_number=form.card_number.data,
            card_expires=form.card_expires.data,
        )
    except IdScanError as error:
        form.scan.data = ""
        return _refused(str(error), scan_form=form)
    except CheckInRefused as error:
        form.scan.data = ""
        return _refused(str(error), 409, scan_form=form)
    return _checked_in(check_in)


@bp.post("/checkin/manual")
@staff_required("budtender")
@unlocked
def checkin_manual():
    """Check in an anonymous walk-in from the date of birth and expiry typed off the ID."""
    form = ManualCheckInForm()
    if not form.validate_on_submit():
        return home_page(status=form_error_status(), block="checkin", manual_form=form)
    try:
        check_in = check_in_manual(
            current_store(),
            current_operator(),
            birth=form.birth.data,
            id_expires=form.id_expires.data,
        )
    except CheckInRefused as error:
        return _refused(str(error), 409, manual_form=form)
    return _checked_in(check_in)


@bp.get("/customers")
@staff_required("budtender")
@unlocked
@fragment_of("register.home")
def customers():
    """Find returning customers by name, phone or medical card."""
    form = SearchForm(request.args)
    found = search_customers(form.q.data or "") if form.validate() else []
    return render(
        "register/home.html",
        block="customer_results",
        store=current_store(),
        search_form=form,
        results=found,
        searched=bool((form.q.data or "").strip()),
    )


@bp.post("/checkin/customer/<int:customer_id>")
@staff_required("budtender")
@unlocked
def checkin_customer(customer_id: int):
    """Check in a returning customer from their record."""
    customer = db.session.get(Customer, real_id(customer_id))
    if customer is None:
        abort(404)
    try:
        check_in = check_in_customer(current_store(), customer, current_operator())
    except CheckInRefused as error:
        return _refused(str(error), 409)
    return _checked_in(check_in)
