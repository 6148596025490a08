"""Returning customers at the register: search (posted), the record, card checks, identity edits."""

from flask import abort, request

from blueprints.access import current_store
from blueprints.htmx import form_error_status, is_htmx, render, retarget
from blueprints.register import bp
from blueprints.register.common import (
    ApprovalRefused,
    approve,
    current_operator,
    managers_here,
)
from blueprints.register.forms import CardCheckForm, CustomerSearchForm, IdentityForm
from blueprints.register.routes import home_page
from extensions import db
from models.people.customers import ADULT_AGE, Customer, age_on
from models.people.identity import (
    IdentityEditRefused,
    edit_identity,
    identity_changes,
    may_edit_identity,
)
from models.people.medical_cards import (
    CardCheckRefused,
    StateRefusedCard,
    card_standing,
    check_card_form,
    how_verified,
    verify_card,
)
from models.sales.checkin import search_customers
from tracktrace.cards import check_card


def _customer(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        abort(404)
    return customer


@bp.post("/customers")
def customers():
    """Find returning customers by name, phone or medical card (posted: no names in URLs)."""
    form = CustomerSearchForm()
    text = form.q.data or ""
    # CSRFProtect already refused a forged post; what is left to fail is a search too long.
    found = search_customers(text) if form.validate_on_submit() else []
    if not is_htmx():
        return home_page(search_form=form, results=found, searched=bool(text.strip()))
    return render(
        "register/home.html",
        block="customer_results",
        store=current_store(),
        search_form=form,
        results=found,
        searched=bool(text.strip()),
    )


def record_page(customer: Customer, status: int = 200, block: str | None = "screen", **context):
    """Render a customer's record: who they are, their card, and what can be done."""
    store = current_store()
    operator = current_operator()
    context.setdefault("card_form", CardCheckForm(formdata=None))
    context.setdefault("identity_form", None)
    response = render(
        "register/customer.html",
        block=block,
        status=status,
        store=store,
        operator=operator,
        customer=customer,
        card=card_standing(customer, store.business_date()),
        under_age=age_on(customer.date_of_birth, store.business_date()) < ADULT_AGE,
        adult_age=ADULT_AGE,
        how_verified=how_verified,
        can_edit_identity=may_edit_identity(operator, store),
        managers=managers_here() if context.get("identity_form") is not None else [],
        changes=identity_changes(customer.id),
        **context,
    )
    if block == "identity" and status != 200 and is_htmx():
        # The identity form posts to the whole screen; a refusal redraws the form alone.
        return retarget(response, "#identity", "outerHTML")
    return response


@bp.get("/customers/<id:customer_id>")
def customer(customer_id: int):
    """Show a returning customer's record: ID on file, medical card, check in, verify, edit."""
    return record_page(_customer(customer_id))


@bp.post("/customers/<id:customer_id>/card")
def verify_customer_card(customer_id: int):
    """Verify the medical card in the budtender's hand (and with the state, where it can tell)."""
    store = current_store()
    if not store.sells_medical:
        # Only a store that serves patients verifies cards, for its own state.
        abort(404)
    customer = _customer(customer_id)
    form = CardCheckForm()
    if not form.validate_on_submit():
        return record_page(customer, form_error_status(), "card", card_form=form)
    try:
        # The state is asked only about a card entered completely and vouched for.
        check_card_form(
            form.card_number.data,
            form.card_expires.data,
            form.card_read.data,
            form.card_checked.data,
            store.business_date(),
        )
        answer = check_card(store, form.card_number.data)
        verify_card(
            store,
            customer,
            current_operator(),
            number=form.card_number.data,
            expires=form.card_expires.data,
            read=form.card_read.data,
            checked=form.card_checked.data,
            answer=answer,
        )
    except StateRefusedCard as refusal:
        # The refusal is on the audit trail and a refused card lost its check: keep that.
        db.session.commit()
        return record_page(
            customer, refusal.status, "card", card_form=form, card_error=refusal.message
        )
    except CardCheckRefused as refusal:
        db.session.rollback()
        if refusal.status == 404:
            abort(404)
        return record_page(
            customer, refusal.status, "card", card_form=form, card_error=refusal.message
        )
    db.session.commit()
    # The whole record changes (the header's chip too): redraw the screen, not only the form.
    response = record_page(customer, card_ok=answer.message)
    return retarget(response, "#screen", "outerHTML") if is_htmx() else response


@bp.route("/customers/<id:customer_id>/identity", methods=["GET", "POST"])
def customer_identity(customer_id: int):
    """Change the identity on a customer's record: a manager does it or approves it, with why."""
    customer = _customer(customer_id)
    if request.method == "GET":
        form = IdentityForm(
            formdata=None,
            first_name=customer.first_name,
            last_name=customer.last_name,
            date_of_birth=customer.date_of_birth,
            id_state=customer.id_state,
            id_expires=customer.id_expires,
        )
        return record_page(customer, block="identity", identity_form=form)
    form = IdentityForm()
    store = current_store()
    operator = current_operator()
    try:
        approver = approve(form.manager_id.data, form.manager_pin.data)
    except ApprovalRefused as refusal:
        return record_page(
            customer, 403, "identity", identity_form=form, identity_error=str(refusal)
        )
    if not may_edit_identity(operator, store) and approver is None:
        return record_page(
            customer,
            403,
            "identity",
            identity_form=form,
            identity_error="Only a manager can change a customer's identity: ask a manager to "
            "approve with their PIN.",
        )
    if not form.validate_on_submit():
        return record_page(customer, form_error_status(), "identity", identity_form=form)
    try:
        changed = edit_identity(
            store,
            customer,
            operator,
            approver=approver,
            reason=form.reason.data,
            first_name=form.first_name.data,
            last_name=form.last_name.data,
            date_of_birth=form.date_of_birth.data,
            id_number=form.id_number.data,
            id_state=form.id_state.data,
            id_expires=form.id_expires.data,
        )
    except IdentityEditRefused as refusal:
        db.session.rollback()
        return record_page(
            customer, refusal.status, "identity", identity_form=form, identity_error=refusal.message
        )
    db.session.commit()
    return record_page(customer, identity_saved=changed)
