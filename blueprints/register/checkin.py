"""Checking customers in: scan the license, type it in, or find a returning customer."""

from flask import abort, flash, request, url_for

from blueprints.access import current_store
from blueprints.htmx import form_error_status, navigate
from blueprints.register import bp
from blueprints.register.common import current_operator
from blueprints.register.customers import record_page
from blueprints.register.forms import ManualCheckInForm, ScanIdForm
from blueprints.register.routes import home_page
from extensions import db
from models.infra import audit
from models.people.customers import Customer
from models.people.id_scan import CheckInRefused, IdScanError, parse_aamva
from models.people.medical_cards import record_state_answer
from models.sales.checkin import (
    CardRefusedAtCheckIn,
    PresentedCard,
    check_in_customer,
    check_in_document,
    check_in_manual,
)
from tracktrace.cards import check_card


def _keep_refusal(message: str) -> None:
    """Undo the check-in and keep its refusal on the audit trail."""
    db.session.rollback()
    audit.record(
        "register.checkin_refused",
        store_id=current_store().id,
        user_id=current_operator().id,
        reason=message[:300],
    )
    db.session.commit()


def _refused(message: str, status: int = 422, **forms):
    """Show the check-in again with the reason, and keep the refusal on the audit trail."""
    _keep_refusal(message)
    return home_page(status=status, block="checkin", checkin_error=message, **forms)


def _checked_in(check_in):
    order_id = check_in.order.id
    db.session.commit()
    for notice in (check_in.eligibility.notice, *check_in.notices):
        if notice:
            flash(notice, "warning")
    return navigate(url_for("register.sale", order_id=order_id))


def _presented_card(form: ScanIdForm) -> PresentedCard | None:
    """Return the medical card typed with the scan, asking the state about it once it is ready."""
    number = (form.card_number.data or "").strip()
    if not number:
        return None
    store = current_store()
    ready = form.card_checked.data and form.card_expires.data is not None
    # The state is asked only about a card the budtender vouched for, at a store serving patients.
    answer = check_card(store, number) if ready and store.sells_medical else None
    return PresentedCard(
        number=number,
        expires=form.card_expires.data,
        read=form.card_read.data,
        checked=bool(form.card_checked.data),
        answer=answer,
    )


@bp.post("/checkin/scan")
def checkin_scan():
    """Check in the holder of a scanned license (the scanner types the barcode's text)."""
    form = ScanIdForm()
    if not form.validate_on_submit():
        return home_page(status=form_error_status(), block="checkin", scan_form=form)
    try:
        document = parse_aamva(form.scan.data)
        card = _presented_card(form)
        if card is not None and not card.checked:
            form.scan.data = ""
            return _refused(
                "Hold the physical card, check that it belongs to the person in front of you, "
                "and tick the box to say so (or clear the card fields for an adult-use sale).",
                scan_form=form,
            )
        check_in = check_in_document(current_store(), document, current_operator(), card=card)
    except IdScanError as error:
        form.scan.data = ""
        return _refused(str(error), scan_form=form)
    except CardRefusedAtCheckIn as error:
        # Nothing of the check-in is kept, but the state's refusal (or silence) is.
        db.session.rollback()
        record_state_answer(
            current_store(), current_operator(), error.card.number, error.card.answer
        )
        db.session.commit()
        form.scan.data = ""
        return _refused(str(error), 409, scan_form=form)
    except CheckInRefused as error:
        form.scan.data = ""
        return _refused(str(error), 409, scan_form=form)
    return _checked_in(check_in)


@bp.post("/checkin/manual")
def checkin_manual():
    """Check in an anonymous walk-in from the dates and number typed off the ID."""
    form = ManualCheckInForm()
    if not form.validate_on_submit():
        return home_page(status=form_error_status(), block="checkin", manual_form=form)
    try:
        check_in = check_in_manual(
            current_store(),
            current_operator(),
            birth=form.birth.data,
            id_expires=form.id_expires.data,
            id_number=form.id_number.data,
        )
    except CheckInRefused as error:
        return _refused(str(error), 409, manual_form=form)
    return _checked_in(check_in)


@bp.post("/checkin/customer/<id:customer_id>")
def checkin_customer(customer_id: int):
    """Check in a returning customer from their record."""
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        abort(404)
    try:
        check_in = check_in_customer(current_store(), customer, current_operator())
    except CheckInRefused as error:
        if request.form.get("from") == "record":
            # Refused from the customer's record: say so there, where the card can be verified.
            _keep_refusal(str(error))
            return record_page(db.session.get(Customer, customer.id), 409, checkin_error=str(error))
        return _refused(str(error), 409)
    return _checked_in(check_in)
