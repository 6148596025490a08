"""Storefront pages: the age gate, the store picker, a store's menu, the customer's account."""

from flask import abort, redirect, request, session, url_for
from flask_login import login_required
from sqlalchemy import select

from blueprints.htmx import form_error_status, redirect_to, render
from blueprints.sessions import current_customer
from blueprints.storefront import bp
from blueprints.storefront.forms import AgeGateForm
from extensions import db
from models.catalog import MENU_LABELS
from models.menu import menu, menu_categories, online_stores
from models.orders import Order
from models.stores import Store


def _age_confirmed() -> bool:
    return session.get("age_ok") is True or current_customer() is not None


@bp.get("/")
def index():
    """Show the age gate, then the store picker."""
    if not _age_confirmed():
        return render("storefront/age_gate.html", form=AgeGateForm(), refused=False)
    return render("storefront/stores.html", stores=online_stores())


@bp.post("/age")
def age_gate():
    """Record the visitor's answer to the age question."""
    form = AgeGateForm()
    if not form.validate_on_submit():
        return render(
            "storefront/age_gate.html",
            block="gate",
            status=form_error_status(),
            form=form,
            refused=False,
        )
    if form.answer.data != "yes":
        return render("storefront/age_gate.html", block="gate", form=form, refused=True)
    session["age_ok"] = True
    return redirect_to(url_for("storefront.index"))


@bp.get("/stores/<code>")
def store_menu(code: str):
    """Show a store's menu, filtered by section; htmx gets only the list."""
    if not _age_confirmed():
        return redirect(url_for("storefront.index"))
    store = db.session.scalar(
        select(Store).where(Store.code == code, Store.online_ordering.is_(True))
    )
    if store is None:
        abort(404)
    category = request.args.get("category") or None
    if category not in MENU_LABELS:
        category = None
    return render(
        "storefront/menu.html",
        block="menu",
        store=store,
        items=menu(store, category),
        categories=menu_categories(store),
        labels=MENU_LABELS,
        category=category,
    )


@bp.get("/account")
@login_required
def account():
    """Show the customer's profile and orders."""
    customer = current_customer()
    if customer is None:
        abort(403)
    orders = db.session.scalars(
        select(Order).where(Order.customer_id == customer.id).order_by(Order.id.desc()).limit(50)
    )
    return render("storefront/account.html", customer=customer, orders=list(orders))


@bp.get("/account/orders/<int:order_id>")
@login_required
def order_detail(order_id: int):
    """Show one of the customer's orders; any other order is 404."""
    customer = current_customer()
    order = db.session.get(Order, order_id)
    if customer is None or order is None or order.customer_id != customer.id:
        abort(404)
    return render("storefront/order.html", order=order)
