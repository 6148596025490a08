"""Storefront pages: age gate, store picker, the menu with filters, product pages, the account."""

from flask import abort, flash, redirect, request, session, url_for
from flask_login import login_required
from sqlalchemy import select

from blueprints.htmx import form_error_status, is_htmx, redirect_to, render, wants_fragment
from blueprints.redirects import safe_next
from blueprints.sessions import current_customer
from blueprints.storefront import bp
from blueprints.storefront.forms import (
    AddToCartForm,
    AgeGateForm,
    ConfirmForm,
    MedicalCardForm,
    MenuFilterForm,
)
from blueprints.storefront.shopper import (
    age_confirmed,
    current_cart,
    online_store,
    shop_at,
    shopper_today,
    to_age_gate,
)
from extensions import db
from models.catalog.products import MENU_LABELS
from models.infra.numbers import parse_count
from models.online.cart import MAX_UNITS, WEIGHT_CHOICES_MG, item_count, line_price_cents
from models.online.checkout import STATUS_LABELS, display_status, online_orders
from models.online.menu import (
    menu_brands,
    menu_categories,
    online_stores,
    product_detail,
    search_menu,
)
from models.online.pickup import next_open_slot
from models.people.accounts import CardRefused, remove_medical_card, save_medical_card
from models.people.customers import ADULT_AGE, age_on
from models.people.medical_cards import card_standing, how_verified
from models.stores.store import Store

# Query parameters a category tab or "show more" link carries over from the current filters.
FILTER_ARGS = ("q", "strain", "brand", "thc_min", "thc_max", "price_min", "price_max", "in_stock",
               "filtered", "sort")  # fmt: skip


@bp.app_template_global()
def storefront_cart() -> dict | None:
    """Return the header's cart link: the store being browsed and how many items are in its cart."""
    code = session.get("store_code")
    if not code:
        return None
    store = db.session.scalar(select(Store).where(Store.code == code))
    if store is None:
        return None
    return {"store": store, "count": item_count(current_cart(store))}


@bp.app_template_global("line_price")
def line_price(product, quantity: int) -> int:
    """Return what an amount of a product costs (the cart's rule), for amount pickers."""
    return line_price_cents(product, quantity)


@bp.get("/")
def index():
    """Show the age gate, then the store picker."""
    if not age_confirmed():
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
    return redirect_to(safe_next(url_for("storefront.index")))


def _carried_args() -> dict:
    carried = {k: [v for v in request.args.getlist(k) if v] for k in FILTER_ARGS}
    return {k: v for k, v in carried.items() if v}


@bp.get("/stores/<code>")
def store_menu(code: str):
    """Show a store's menu under the shopper's filters; htmx gets only the results."""
    if not age_confirmed():
        return to_age_gate()
    store = online_store(code)
    shop_at(store)
    category = request.args.get("category") or None
    if category not in MENU_LABELS:
        category = None
    form = MenuFilterForm(request.args)
    # An htmx update redraws only the results: the form, its brand list and the pickup note stay.
    fragment = wants_fragment()
    brands = [] if fragment else menu_brands(store)
    form.brand.choices = [("", "Any brand")] + [(b, b) for b in brands]
    filters = form.to_filters(category)
    if not request.args.get("filtered"):
        form.in_stock.data = True
    page = parse_count(request.args.get("page"), maximum=999) or 1
    results = search_menu(store, filters, page=page)
    # "Show more" asks for the next cards only; a filter change redraws the results.
    block = "more" if page > 1 else "results"
    return render(
        "storefront/menu.html",
        block=block,
        store=store,
        form=form,
        results=results,
        filters=filters,
        categories=menu_categories(store),
        labels=MENU_LABELS,
        category=category,
        carried=_carried_args(),
        next_slot=None if fragment else next_open_slot(store),
    )


@bp.get("/stores/<code>/products/<id:product_id>")
def product(code: str, product_id: int):
    """Show one product: potency, weight, lab status and certificate, price, live availability."""
    if not age_confirmed():
        return to_age_gate()
    store = online_store(code)
    detail = product_detail(store, product_id)
    if detail is None:
        abort(404)
    shop_at(store)
    return product_page(store, detail, AddToCartForm(product_id=product_id))


def product_page(store: Store, detail, form: AddToCartForm, status: int = 200, message=None):
    """Render the whole product page (where a refused add lands without JavaScript)."""
    return render(
        "storefront/product.html",
        status=status,
        store=store,
        detail=detail,
        product=detail.product,
        form=form,
        weights=WEIGHT_CHOICES_MG,
        max_units=min(MAX_UNITS, max(detail.available, 1)),
        message=message,
        back=safe_next(url_for("storefront.store_menu", code=store.code)),
        labels=MENU_LABELS,
    )


@bp.get("/stores/<code>/products/<id:product_id>/availability")
def availability(code: str, product_id: int):
    """Return the product page's live stock line (polled while the page is open)."""
    if not age_confirmed():
        abort(404)
    store = online_store(code)
    detail = product_detail(store, product_id)
    if detail is None:
        abort(404)
    if not is_htmx():
        return redirect(url_for("storefront.product", code=code, product_id=product_id))
    return render(
        "storefront/product.html", block="availability", store=store, detail=detail,
        product=detail.product,
    )  # fmt: skip


@bp.get("/account")
@login_required
def account():
    """Show the customer's profile, medical card and orders."""
    customer = current_customer()
    if customer is None:
        abort(403)
    form = MedicalCardForm(state=customer.medical_card_state, expires=customer.medical_card_expires)
    return _account_page(customer, form)


def _account_page(customer, form, status: int = 200, message: str | None = None):
    orders = online_orders(customer)
    today = shopper_today()
    return render(
        "storefront/account.html",
        block="card" if status != 200 else None,
        status=status,
        customer=customer,
        orders=orders,
        statuses={o.id: display_status(o) for o in orders},
        labels=STATUS_LABELS,
        card_form=form,
        remove_form=ConfirmForm(),
        message=message,
        card=card_standing(customer, today),
        under_age=age_on(customer.date_of_birth, today) < ADULT_AGE,
        adult_age=ADULT_AGE,
        how_verified=how_verified,
    )


@bp.post("/account/medical-card")
@login_required
def save_card():
    """Save the customer's medical card so they buy as a patient where the store serves them."""
    customer = current_customer()
    if customer is None:
        abort(403)
    form = MedicalCardForm()
    if not form.validate_on_submit():
        return _account_page(customer, form, form_error_status())
    try:
        save_medical_card(
            customer, form.number.data, form.state.data, form.expires.data, shopper_today()
        )
    except CardRefused as refusal:
        db.session.rollback()
        form.form_errors.append(str(refusal))
        return _account_page(customer, form, form_error_status())
    db.session.commit()
    flash("Your medical card is saved.", "success")
    return redirect_to(url_for("storefront.account"))


@bp.post("/account/medical-card/remove")
@login_required
def remove_card():
    """Forget the customer's medical card."""
    customer = current_customer()
    if customer is None:
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        remove_medical_card(customer)
    except CardRefused as refusal:
        db.session.rollback()
        return _account_page(customer, MedicalCardForm(), 409, str(refusal))
    db.session.commit()
    flash("Your medical card was removed.", "info")
    return redirect_to(url_for("storefront.account"))
