"""Checkout with a pickup slot, the confirmation, the order status page, and cancelling."""

import uuid

from flask import abort, flash, redirect, url_for
from flask_login import login_required
from sqlalchemy.exc import IntegrityError

from blueprints.htmx import form_error_status, redirect_to, render
from blueprints.sessions import current_customer
from blueprints.storefront import bp
from blueprints.storefront.forms import CheckoutForm, ConfirmForm
from blueprints.storefront.shopper import current_cart, online_store, shop_at
from extensions import db
from models.online.cart import view
from models.online.checkout import (
    CANCELLABLE_STATUSES,
    STATUS_LABELS,
    STEPS,
    CheckoutRefused,
    cancel_order,
    customer_order,
    display_status,
    is_terminal,
    order_for_key,
    place_order,
    step_index,
)
from models.online.order_mail import send_order_placed
from models.online.pickup import available_slots, by_day, settings


def _checkout_page(store, customer, form: CheckoutForm, status: int = 200, message=None):
    slots = available_slots(store)
    return render(
        "storefront/checkout.html",
        block="checkout" if status != 200 else None,
        status=status,
        store=store,
        customer=customer,
        cart=view(current_cart(store), store, customer),
        slots=slots,
        slot_days=by_day(store, slots),
        today=store.business_date(),
        slot_minutes=settings(store).slot_minutes,
        grace=settings(store).grace_minutes,
        form=form,
        message=message,
    )


@bp.get("/stores/<code>/checkout")
@login_required
def checkout(code: str):
    """Show the order summary, the limit meter, the pickup slots and the place-order button."""
    store = online_store(code)
    customer = current_customer()
    if customer is None:
        abort(403)
    shop_at(store)
    cart = current_cart(store)
    if cart is None or not cart.lines:
        flash("Your cart is empty.", "info")
        return redirect(url_for("storefront.cart", code=store.code))
    # One key per rendering of the form: a double-click or a retry sends the same one.
    return _checkout_page(store, customer, CheckoutForm(idempotency_key=uuid.uuid4().hex))


@bp.post("/stores/<code>/checkout")
@login_required
def place(code: str):
    """Place the order: stock held per line, limits re-checked, one order per submit."""
    store = online_store(code)
    customer = current_customer()
    if customer is None:
        abort(403)
    form = CheckoutForm()
    if not form.validate_on_submit():
        return _checkout_page(store, customer, form, form_error_status())
    key = form.idempotency_key.data
    done = order_for_key(key, customer)
    if done is not None:
        return redirect_to(url_for("storefront.order_detail", order_id=done.id))
    cart = current_cart(store)
    if cart is None or not cart.lines:
        flash("Your cart is empty.", "info")
        return redirect_to(url_for("storefront.cart", code=store.code))
    try:
        placed = place_order(cart, customer, form.slot.data, key)
    except CheckoutRefused as refusal:
        db.session.rollback()
        return _checkout_page(store, customer, form, refusal.status, str(refusal))
    if not placed.replayed:
        send_order_placed(placed.order)
    try:
        db.session.commit()
    except IntegrityError:
        # A twin submit with the same key committed first: show the order it placed.
        db.session.rollback()
        done = order_for_key(key, customer)
        if done is None:
            raise
        return redirect_to(url_for("storefront.order_detail", order_id=done.id))
    if not placed.replayed:
        flash("Thank you! Your order is placed.", "success")
    return redirect_to(url_for("storefront.order_detail", order_id=placed.order.id))


def _order_page(order, status: int = 200, message: str | None = None):
    current = display_status(order)
    return render(
        "storefront/order.html",
        block="status",
        status=status,
        order=order,
        store=order.store,
        current=current,
        terminal=is_terminal(current),
        cancellable=current in CANCELLABLE_STATUSES,
        steps=STEPS,
        step=step_index(current),
        labels=STATUS_LABELS,
        cancel_form=ConfirmForm(),
        message=message,
    )


@bp.get("/account/orders/<id:order_id>")
@login_required
def order_detail(order_id: int):
    """Show the status of one of the customer's orders; htmx polls the status part."""
    order = customer_order(order_id, current_customer())
    if order is None:
        abort(404)
    return _order_page(order)


@bp.post("/account/orders/<id:order_id>/cancel")
@login_required
def cancel(order_id: int):
    """Cancel an order that is not packed yet; its held stock goes back on the menu."""
    customer = current_customer()
    order = customer_order(order_id, customer)
    if order is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        cancel_order(order, customer)
    except CheckoutRefused as refusal:
        db.session.rollback()
        return _order_page(customer_order(order_id, customer), refusal.status, str(refusal))
    db.session.commit()
    flash("Your order is cancelled.", "info")
    return redirect_to(url_for("storefront.order_detail", order_id=order_id))
