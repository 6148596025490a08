"""The cart: add from the menu or a product page, change amounts, see limits and taxes."""

from flask import abort, flash, redirect, request, url_for

from blueprints.htmx import form_error_status, is_htmx, redirect_to, render
from blueprints.redirects import safe_next
from blueprints.sessions import current_customer
from blueprints.storefront import bp
from blueprints.storefront.forms import AddToCartForm, CartLineForm
from blueprints.storefront.routes import product_page
from blueprints.storefront.shopper import (
    age_confirmed,
    cart_token,
    current_cart,
    online_store,
    remember_cart,
    shop_at,
    to_age_gate,
)
from extensions import db
from models.catalog.products import Product
from models.online.cart import (
    WEIGHT_CHOICES_MG,
    CartRefused,
    add_to_cart,
    change_quantity,
    open_cart,
    view,
)
from models.online.menu import product_detail


def _cart_page(store, status: int = 200, message: str | None = None):
    customer = current_customer()
    return render(
        "storefront/cart.html",
        block="cart",
        status=status,
        store=store,
        cart=view(current_cart(store), store, customer),
        customer=customer,
        weights=WEIGHT_CHOICES_MG,
        message=message,
        line_form=CartLineForm(),
    )


@bp.get("/stores/<code>/cart")
def cart(code: str):
    """Show the cart with the limit meter and taxes."""
    if not age_confirmed():
        return to_age_gate()
    store = online_store(code)
    shop_at(store)
    return _cart_page(store)


def _store_product(store, product_id) -> Product:
    product = db.session.get(Product, product_id) if product_id else None
    if product is None or product.store_id != store.id:
        abort(404)
    return product


def _add_refused(store, form: AddToCartForm, status: int, message: str | None):
    """Show the add form again with the reason: the form alone for htmx, else the product page."""
    product = db.session.get(Product, form.product_id.data) if form.product_id.data else None
    if is_htmx():
        return render(
            "storefront/_add_form.html",
            block="add_form",
            status=status,
            store=store,
            product=product,
            form=form,
            message=message,
            compact=request.form.get("compact") == "1",
            weights=WEIGHT_CHOICES_MG,
        )
    detail = product_detail(store, product.id) if product is not None else None
    if detail is None:
        abort(404)
    return product_page(store, detail, form, status, message)


@bp.post("/stores/<code>/cart/add")
def cart_add(code: str):
    """Put a product in the cart, or say why it cannot go in (stock, limits)."""
    if not age_confirmed():
        return to_age_gate()
    store = online_store(code)
    form = AddToCartForm()
    if not form.validate_on_submit():
        return _add_refused(store, form, form_error_status(), None)
    product = _store_product(store, form.product_id.data)
    customer = current_customer()
    cart, token = open_cart(cart_token(store), store, customer)
    try:
        add_to_cart(cart, store, product, form.quantity.data, customer)
    except CartRefused as refusal:
        db.session.rollback()
        return _add_refused(store, form, refusal.status, str(refusal))
    db.session.commit()
    remember_cart(store, token)
    shop_at(store)
    if is_htmx():
        return render(
            "storefront/_add_form.html",
            block="add_form",
            store=store,
            product=product,
            form=AddToCartForm(product_id=product.id),
            added=True,
            compact=request.form.get("compact") == "1",
            weights=WEIGHT_CHOICES_MG,
            oob_cart=True,
        )
    flash(f"Added {product.name} to your cart.", "success")
    return redirect(safe_next(url_for("storefront.cart", code=store.code)), 303)


@bp.post("/stores/<code>/cart/update")
def cart_update(code: str):
    """Change a line's amount (0 removes it); a change over a limit is refused with the reason."""
    if not age_confirmed():
        return to_age_gate()
    store = online_store(code)
    form = CartLineForm()
    if not form.validate_on_submit():
        return _cart_page(store, form_error_status(), "Choose an amount from the list.")
    product = _store_product(store, form.product_id.data)
    cart = current_cart(store)
    if cart is None:
        return redirect_to(url_for("storefront.cart", code=store.code))
    try:
        change_quantity(cart, store, product, form.quantity.data, current_customer())
    except CartRefused as refusal:
        db.session.rollback()
        return _cart_page(store, refusal.status, str(refusal))
    db.session.commit()
    if is_htmx():
        return _cart_page(store)
    return redirect(url_for("storefront.cart", code=store.code), 303)
