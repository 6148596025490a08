"""The sale screen: scan or search to add lines, discounts, payment, receipt, voids, returns."""

from functools import cache

from flask import abort, get_flashed_messages, redirect, request, url_for
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from blueprints.access import current_store, store_object
from blueprints.htmx import form_error_status, fragment_of, navigate, render, wants_fragment
from blueprints.register import bp
from blueprints.register.common import (
    ApprovalRefused,
    approve,
    current_operator,
    managers_here,
    tablet_drawer,
    tablet_has_drawer,
)
from blueprints.register.forms import (
    AddProductForm,
    DiscountForm,
    PayForm,
    QuantityForm,
    ScanForm,
    SearchForm,
)
from extensions import db
from models.catalog.products import Product
from models.sales.completion import complete_sale, quick_cash
from models.sales.discounts import discount_text, set_line_discount, set_sale_discount
from models.sales.errors import NeedsApproval, SaleError
from models.sales.lines import (
    add_by_tag,
    add_product,
    cancel_sale,
    claim,
    remove_line,
    set_quantity,
)
from models.sales.orders import Order, OrderLine
from models.sales.scanning import search_menu
from models.sales.totals import SaleState, recompute


def _order(order_id: int) -> Order:
    return store_object(Order, order_id)


@cache
def _cart_query():
    """Build the cart read once: the order, its customer, its lines and their products."""
    # One query for all four (every cart change needs them), built once because building a
    # statement costs more than running it.
    return (
        select(Order)
        .where(Order.id == bindparam("order_id"))
        .options(joinedload(Order.customer), joinedload(Order.lines).joinedload(OrderLine.product))
    )


def _open_order(order_id: int) -> Order:
    result = db.session.execute(_cart_query(), {"order_id": order_id})
    order = result.unique().scalar_one_or_none()
    if order is None or order.store_id != current_store().id or order.channel != "register":
        abort(404)
    return order


def _cart(
    order: Order,
    state: SaleState | None = None,
    *,
    status: int = 200,
    message: str | None = None,
    level: str = "error",
    block: str = "cart",
    **forms,
):
    """Render the cart (lines, limit meter, taxes, payment) or the whole sale screen."""
    state = state or recompute(order)
    drawer = forms.pop("drawer", None) or tablet_drawer()
    forms["pay_form"] = PayForm.for_attempt(forms.get("pay_form"))
    forms.setdefault("scan_form", ScanForm(formdata=None))
    forms.setdefault("search_form", SearchForm(formdata=None))
    approval_for = forms.pop("approval_for", None)
    return render(
        "register/sale.html",
        block=block,
        status=status,
        store=current_store(),
        operator=current_operator(),
        order=order,
        state=state,
        message=message,
        level=level,
        drawer=drawer,
        open_forms=forms.pop("open_forms", {}),
        approval_for=approval_for,
        managers=managers_here() if approval_for else [],
        quick_cash=quick_cash,
        discount_text=discount_text,
        notices=get_flashed_messages(with_categories=True) if wants_fragment() else [],
        **forms,
    )


def _refused(order_id: int, error: SaleError, **forms):
    """Undo the change and show the cart as it was, with the reason."""
    db.session.rollback()
    order = _open_order(order_id)
    return _cart(order, status=error.status, message=error.message, **forms)


def _changed(order: Order, state: SaleState, message: str | None = None):
    session = db.session()
    # The cart shown is exactly what was just committed: keep it loaded instead of re-reading it.
    session.expire_on_commit = False
    session.commit()
    # Between changes the pay panel only needs to know the tablet has a drawer; completing the
    # sale checks the drawer is still open (another tablet may have closed it).
    return _cart(order, state, message=message, level="ok", drawer=tablet_has_drawer())


@bp.get("/sale/<id:order_id>")
def sale(order_id: int):
    """Show a sale: the scan box, the menu search, the cart and the payment panel."""
    order = _open_order(order_id)
    if order.status in ("completed", "voided"):
        return redirect(url_for("register.receipt", order_id=order.id), 303)
    if order.status != "open":
        return redirect(url_for("register.home"), 303)
    # Reading a sale writes nothing: totals are recomputed for display only.
    with db.session.no_autoflush:
        return _cart(order, block="screen")


@bp.post("/sale/<id:order_id>/scan")
def scan(order_id: int):
    """Add the package whose tag was scanned."""
    order = _open_order(order_id)
    form = ScanForm()
    if not form.validate_on_submit():
        return _cart(order, status=form_error_status(), message="Scan a package tag.")
    try:
        claim(order, current_operator())
        state = add_by_tag(order, form.tag.data)
    except SaleError as error:
        return _refused(order_id, error)
    return _changed(order, state, f"Added {state.changed.name} ({state.changed.package_tag}).")


@bp.get("/sale/<id:order_id>/products")
@fragment_of("register.sale", "order_id")
def products(order_id: int):
    """Search the menu; each result shows the package the register would sell from."""
    order = _open_order(order_id)
    form = SearchForm(request.args)
    found = search_menu(current_store(), form.q.data or "", order) if form.validate() else []
    return render(
        "register/sale.html",
        block="product_results",
        order=order,
        results=found,
        searched=bool((form.q.data or "").strip()),
    )


@bp.post("/sale/<id:order_id>/add")
def add(order_id: int):
    """Add a product picked from the search, from its proposed package."""
    order = _open_order(order_id)
    form = AddProductForm()
    product = None
    if form.product_id.data is not None:
        # Known before validating: the quantity reads in the product's unit.
        product = store_object(Product, form.product_id.data)
        form.unit = "grams" if product.sold_by == "weight" else "each"
    if product is None or not form.validate_on_submit():
        message = _first_error(form.quantity) or "Pick a product to add."
        return _cart(order, status=form_error_status(), message=message)
    try:
        claim(order, current_operator())
        state = add_product(order, product, form.quantity.data)
    except SaleError as error:
        return _refused(order_id, error)
    return _changed(order, state, f"Added {product.name} from package {state.changed.package_tag}.")


@bp.post("/sale/<id:order_id>/lines/<id:line_id>/quantity")
def quantity(order_id: int, line_id: int):
    """Change a line's quantity, or its weight in grams for bulk."""
    order = _open_order(order_id)
    line = next((ln for ln in order.lines if ln.id == line_id), None)
    if line is None:
        return _refused(order_id, SaleError("That line is no longer on this sale.", status=404))
    form = QuantityForm(unit=line.unit)
    if not form.validate_on_submit():
        message = _first_error(form.quantity) or "Enter a quantity."
        return _cart(order, status=form_error_status(), message=message)
    try:
        claim(order, current_operator())
        if form.quantity.data:
            state = set_quantity(order, line_id, form.quantity.data)
        else:
            state = remove_line(order, line_id)
    except SaleError as error:
        return _refused(order_id, error)
    return _changed(order, state)


@bp.post("/sale/<id:order_id>/lines/<id:line_id>/remove")
def remove(order_id: int, line_id: int):
    """Take a line off the sale."""
    order = _open_order(order_id)
    try:
        state = remove_line(order, line_id)
    except SaleError as error:
        return _refused(order_id, error)
    return _changed(order, state, "Line removed.")


def _first_error(field) -> str | None:
    return next(iter(field.errors), None)


def _discount(order_id: int, line_id: int | None):
    order = _open_order(order_id)
    form = DiscountForm()
    key = f"line-{line_id}" if line_id else "sale"
    if not form.validate_on_submit():
        pin_error = _first_error(form.manager_pin)
        return _cart(
            order,
            status=form_error_status(),
            message=None if pin_error else _first_error(form.value) or "Check the discount.",
            open_forms={key: form},
            approval_for=key if pin_error else None,
            approval_error=pin_error,
        )
    kind = None if form.kind.data == "none" else form.kind.data
    try:
        state = _apply_discount(order, line_id, kind, form)
    except (SaleError, ApprovalRefused) as error:
        db.session.rollback()
        form.manager_pin.data = ""
        return _discount_refused(_open_order(order_id), key, form, error)
    return _changed(order, state, "Discount applied." if kind else "Discount removed.")


def _apply_discount(order: Order, line_id: int | None, kind: str | None, form: DiscountForm):
    value = form.value.data or 0
    if kind and not value:
        raise SaleError("Enter the discount's percent or amount.")
    approver = approve(form.manager_id.data, form.manager_pin.data)
    reason = form.reason.data or ""
    if line_id:
        return set_line_discount(order, line_id, kind, value, reason, current_operator(), approver)
    return set_sale_discount(order, kind, value, reason, current_operator(), approver)


def _discount_refused(
    order: Order, key: str, form: DiscountForm, error: SaleError | ApprovalRefused
):
    refused = isinstance(error, ApprovalRefused)
    needs_manager = refused or isinstance(error, NeedsApproval)
    return _cart(
        order,
        status=error.status,
        # A refused approval is told beside the PIN, where the manager is looking.
        message=None if refused else str(error),
        open_forms={key: form},
        approval_for=key if needs_manager else None,
        approval_error=str(error) if refused else None,
    )


@bp.get("/sale/<id:order_id>/lines/<id:line_id>/discount")
@fragment_of("register.sale", "order_id")
def line_discount_form(order_id: int, line_id: int):
    """Return a line's discount form (the cart loads it when its % button is first opened)."""
    order = _open_order(order_id)
    line = next((ln for ln in order.lines if ln.id == line_id), None)
    if line is None:
        abort(404)
    return render(
        "register/_discount_form.html",
        action=url_for("register.line_discount", order_id=order.id, line_id=line.id),
        key=f"line-{line.id}",
        current_kind=line.discount_kind,
        current_value=line.discount_value,
        current_reason=line.discount_reason,
        form=None,
        approval_for=None,
        managers=[],
        discount_text=discount_text,
    )


@bp.post("/sale/<id:order_id>/lines/<id:line_id>/discount")
def line_discount(order_id: int, line_id: int):
    """Discount one line, with a reason; a manager approves above the store's threshold."""
    return _discount(order_id, line_id)


@bp.post("/sale/<id:order_id>/discount")
def sale_discount(order_id: int):
    """Discount the whole sale, with a reason; a manager approves above the threshold."""
    return _discount(order_id, None)


@bp.post("/sale/<id:order_id>/complete")
def complete(order_id: int):
    """Take payment and complete the sale in one transaction; a repeat shows the same receipt."""
    order = _open_order(order_id)
    form = PayForm()
    if not form.validate_on_submit():
        message = next(iter(form.errors.values()))[0]
        return _cart(order, status=form_error_status(), message=message, pay_form=form)
    try:
        payments = form.payments(order.total_cents)
        complete_sale(
            order, payments, form.client_token.data, current_operator(), drawer=tablet_drawer()
        )
    except SaleError as error:
        return _refused(order_id, error, pay_form=form)
    db.session.commit()
    return navigate(url_for("register.receipt", order_id=order_id))


@bp.post("/sale/<id:order_id>/cancel")
def cancel(order_id: int):
    """Drop an open sale (the customer left); nothing was taken from the shelf."""
    order = _open_order(order_id)
    try:
        cancel_sale(order, current_operator())
    except SaleError as error:
        return _refused(order_id, error)
    db.session.commit()
    return navigate(url_for("register.home"))
