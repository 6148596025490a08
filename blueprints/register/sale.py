"""The sale screen: scan or search to add lines, discounts, payment, receipt, voids, returns."""

from functools import cache

from flask import abort, flash, get_flashed_messages, redirect, request, url_for
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from blueprints.access import current_store, staff_required, store_object
from blueprints.htmx import form_error_status, fragment_of, navigate, render, wants_fragment
from blueprints.register import bp
from blueprints.register.common import (
    ApprovalRefused,
    approve,
    current_operator,
    managers_here,
    real_id,
    tablet_drawer,
    tablet_has_drawer,
)
from blueprints.register.forms import (
    AddProductForm,
    DiscountForm,
    PayForm,
    QuantityForm,
    ReturnForm,
    ScanForm,
    SearchForm,
    VoidForm,
)
from extensions import db
from models.catalog.products import Product
from models.compliance.outbox import SHOWN_STATUSES, sale_report_statuses
from models.infra.numbers import parse_id
from models.sales.amounts import parse_cents, parse_grams, parse_percent, parse_units
from models.sales.completion import change_due, complete_sale, quick_cash
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
from models.sales.listing import report_badge, sales_on
from models.sales.orders import Order, OrderLine
from models.sales.returning import ReturnItem, return_items
from models.sales.returns import (
    SaleReturn,
    approval_reasons,
    refunded_by_order,
    return_status,
    returns_of,
    returns_on,
)
from models.sales.scanning import search_menu
from models.sales.totals import SaleState, recompute
from models.sales.voids import can_void, void_sale
from models.units import money


def _order(order_id: int) -> Order:
    return store_object(Order, real_id(order_id))


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
    result = db.session.execute(_cart_query(), {"order_id": real_id(order_id)})
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


@bp.get("/sale/<int:order_id>")
@staff_required("budtender")
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


@bp.post("/sale/<int:order_id>/scan")
@staff_required("budtender")
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


@bp.get("/sale/<int:order_id>/products")
@staff_required("budtender")
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


@bp.post("/sale/<int:order_id>/add")
@staff_required("budtender")
def add(order_id: int):
    """Add a product picked from the search, from its proposed package."""
    order = _open_order(order_id)
    form = AddProductForm()
    if not form.validate_on_submit():
        return _cart(order, status=form_error_status(), message="Pick a product to add.")
    product = store_object(Product, real_id(form.product_id.data))
    try:
        quantity = None
        if form.quantity.data:
            quantity = (
                parse_grams(form.quantity.data)
                if product.sold_by == "weight"
                else parse_units(form.quantity.data)
            )
        claim(order, current_operator())
        state = add_product(order, product, quantity)
    except SaleError as error:
        return _refused(order_id, error)
    return _changed(order, state, f"Added {product.name} from package {state.changed.package_tag}.")


@bp.post("/sale/<int:order_id>/lines/<int:line_id>/quantity")
@staff_required("budtender")
def quantity(order_id: int, line_id: int):
    """Change a line's quantity, or its weight in grams for bulk."""
    order = _open_order(order_id)
    form = QuantityForm()
    line = next((ln for ln in order.lines if ln.id == line_id), None)
    if line is None:
        return _refused(order_id, SaleError("That line is no longer on this sale.", status=404))
    if not form.validate_on_submit():
        return _cart(order, status=form_error_status(), message="Enter a quantity.")
    try:
        raw = form.quantity.data.strip()
        if line.unit == "grams":
            amount = parse_grams(raw)
        else:
            amount = parse_units(raw, "Enter a whole number of units (0 takes the line off).")
        if amount <= 0:
            claim(order, current_operator())
            state = remove_line(order, line_id)
        else:
            claim(order, current_operator())
            state = set_quantity(order, line_id, amount)
    except SaleError as error:
        return _refused(order_id, error)
    return _changed(order, state)


@bp.post("/sale/<int:order_id>/lines/<int:line_id>/remove")
@staff_required("budtender")
def remove(order_id: int, line_id: int):
    """Take a line off the sale."""
    order = _open_order(order_id)
    try:
        state = remove_line(order, line_id)
    except SaleError as error:
        return _refused(order_id, error)
    return _changed(order, state, "Line removed.")


def _discount(order_id: int, line_id: int | None):
    order = _open_order(order_id)
    form = DiscountForm()
    key = f"line-{line_id}" if line_id else "sale"
    if not form.validate_on_submit():
        pin_error = next(iter(form.manager_pin.errors), None)
        return _cart(
            order,
            status=form_error_status(),
            message=None if pin_error else "Check the discount.",
            open_forms={key: form},
            approval_for=key if pin_error else None,
            approval_error=pin_error,
        )
    try:
        kind = None if form.kind.data == "none" else form.kind.data
        raw = (form.value.data or "").strip()
        if kind == "percent":
            value = parse_percent(raw) if raw else 0
        elif kind == "amount":
            value = parse_cents(raw) or 0
        else:
            value = 0
        if kind and not value:
            raise SaleError("Enter the discount's percent or amount.")
        approver = approve(form.manager_id.data, form.manager_pin.data)
        operator = current_operator()
        if line_id:
            state = set_line_discount(
                order, line_id, kind, value, form.reason.data or "", operator, approver
            )
        else:
            state = set_sale_discount(
                order, kind, value, form.reason.data or "", operator, approver
            )
    except (SaleError, ApprovalRefused) as error:
        refused = isinstance(error, ApprovalRefused)
        db.session.rollback()
        order = _open_order(order_id)
        form.manager_pin.data = ""
        needs_manager = refused or isinstance(error, NeedsApproval)
        return _cart(
            order,
            status=error.status,
            # A refused approval is told beside the PIN, where the manager is looking.
            message=None if refused else error.message,
            open_forms={key: form},
            approval_for=key if needs_manager else None,
            approval_error=str(error) if refused else None,
        )
    return _changed(order, state, "Discount removed." if not kind else "Discount applied.")


@bp.get("/sale/<int:order_id>/lines/<int:line_id>/discount")
@staff_required("budtender")
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


@bp.post("/sale/<int:order_id>/lines/<int:line_id>/discount")
@staff_required("budtender")
def line_discount(order_id: int, line_id: int):
    """Discount one line, with a reason; a manager approves above the store's threshold."""
    return _discount(order_id, line_id)


@bp.post("/sale/<int:order_id>/discount")
@staff_required("budtender")
def sale_discount(order_id: int):
    """Discount the whole sale, with a reason; a manager approves above the threshold."""
    return _discount(order_id, None)


@bp.post("/sale/<int:order_id>/complete")
@staff_required("budtender")
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


@bp.post("/sale/<int:order_id>/cancel")
@staff_required("budtender")
def cancel(order_id: int):
    """Drop an open sale (the customer left); nothing was taken from the shelf."""
    order = _open_order(order_id)
    try:
        cancel_sale(order, current_operator())
    except SaleError as error:
        return _refused(order_id, error)
    db.session.commit()
    return navigate(url_for("register.home"))


def _receipt(order: Order, status: int = 200, block: str = "screen", **extra):
    extra.setdefault("void_form", VoidForm(formdata=None))
    return render(
        "register/receipt.html",
        block=block,
        status=status,
        store=order.store,
        operator=current_operator(),
        order=order,
        badge=report_badge(order),
        change=change_due(order),
        can_void=can_void(order),
        returns=returns_of(order),
        managers=managers_here(),
        notices=get_flashed_messages(with_categories=True) if wants_fragment() else [],
        **extra,
    )


@bp.get("/sale/<int:order_id>/receipt")
@staff_required("budtender")
def receipt(order_id: int):
    """Show the printable receipt with each tax, the tenders and the state-report status."""
    order = _order(order_id)
    if order.status not in ("completed", "voided"):
        return redirect(url_for("register.sale", order_id=order.id), 303)
    return _receipt(order)


@bp.get("/sale/<int:order_id>/report-status")
@staff_required("budtender", poll=True)
@fragment_of("register.receipt", "order_id")
def report_status(order_id: int):
    """Return the sale's state-report badge (the receipt polls it while it is queued)."""
    order = _order(order_id)
    return render(
        "register/receipt.html", block="report_status", order=order, badge=report_badge(order)
    )


@bp.post("/sale/<int:order_id>/void")
@staff_required("budtender")
def void(order_id: int):
    """Void a sale the same business day: a manager approves, stock goes back, the state is told."""
    order = _order(order_id)
    form = VoidForm()
    operator = current_operator()
    if not form.validate_on_submit():
        return _receipt(order, form_error_status(), block="void", void_form=form)
    try:
        manager = approve(form.manager_id.data, form.manager_pin.data)
        if manager is None:
            manager = operator
        done = void_sale(
            order, form.reason.data, manager, operator=operator, drawer=tablet_drawer()
        )
    except (SaleError, ApprovalRefused) as error:
        db.session.rollback()
        order = _order(order_id)
        form.manager_pin.data = ""
        if isinstance(error, SaleError):
            form.form_errors.append(error.message)
            status = error.status
        else:
            form.manager_pin.errors = [str(error)]
            status = error.status
        return _receipt(order, status, block="void", void_form=form)
    db.session.commit()
    return navigate(url_for("register.receipt", order_id=done.id))


def _return_page(
    order: Order,
    form: ReturnForm | None = None,
    status: int = 200,
    error=None,
    *,
    ask_manager: bool = False,
):
    store = order.store
    old = "age" in approval_reasons(store, order, 0, store.business_date())
    return render(
        "register/return.html",
        block="screen",
        status=status,
        store=store,
        operator=current_operator(),
        order=order,
        form=ReturnForm.for_attempt(form),
        error=error,
        drawer=tablet_drawer(),
        sale_is_old=old,
        # An old sale asks for a manager from the start; a big refund once it is worked out.
        ask_manager=(ask_manager or old) and not current_operator().has_role(store, "manager"),
        managers=managers_here(),
    )


@bp.get("/sale/<int:order_id>/return")
@staff_required("budtender")
def return_form(order_id: int):
    """Show a completed sale's lines with how much of each can come back."""
    order = _order(order_id)
    if order.status != "completed":
        return redirect(url_for("register.receipt", order_id=order.id), 303)
    return _return_page(order)


@bp.post("/sale/<int:order_id>/return")
@staff_required("budtender")
def return_submit(order_id: int):
    """Take items back (restock or destroy per line), refund, and report the return."""
    order = _order(order_id)
    form = ReturnForm()
    if not form.validate_on_submit():
        return _return_page(order, form, form_error_status())
    items = []
    try:
        for line in order.lines:
            raw = (request.form.get(f"qty-{line.id}") or "").strip()
            if not raw or raw == "0":
                continue
            if line.unit == "grams":
                amount = parse_grams(raw)
            else:
                amount = parse_units(
                    raw, f"Enter how many of {line.name} come back (a whole number)."
                )
            disposition = request.form.get(f"disposition-{line.id}", "restock")
            items.append(ReturnItem(line, amount, disposition))
        approver = approve(form.manager_id.data, form.manager_pin.data)
        back = return_items(
            order,
            items,
            form.reason.data,
            current_operator(),
            refund_kind=form.refund_kind.data,
            drawer=tablet_drawer(),
            approver=approver,
            client_token=form.client_token.data,
        )
    except (SaleError, ApprovalRefused) as error:
        db.session.rollback()
        order = _order(order_id)
        form.manager_pin.data = ""
        if isinstance(error, ApprovalRefused):
            return _return_page(order, form, 422, str(error), ask_manager=True)
        needs_manager = isinstance(error, NeedsApproval)
        return _return_page(order, form, error.status, error.message, ask_manager=needs_manager)
    db.session.commit()
    flash(f"Return recorded: refund {refund_words(back)}.", "ok")
    return navigate(url_for("register.refund_slip", return_id=back.id))


@bp.get("/returns/<int:return_id>/slip")
@staff_required("budtender")
def refund_slip(return_id: int):
    """Show a return's printable refund slip: what came back, the refund, where to sign."""
    back = store_object(SaleReturn, real_id(return_id))
    return render(
        "register/refund_slip.html",
        block="screen",
        store=back.store,
        operator=current_operator(),
        back=back,
        order=back.order,
        notices=get_flashed_messages(with_categories=True) if wants_fragment() else [],
    )


def refund_words(back: SaleReturn) -> str:
    """Say a refund in words: "$51.75 in cash", "$12.00 in cash and $30.25 to the debit card"."""
    parts = []
    if back.cash_cents:
        parts.append(f"{money(back.cash_cents)} in cash")
    if back.card_cents:
        parts.append(f"{money(back.card_cents)} to the debit card")
    return " and ".join(parts) or money(0)


@bp.get("/sales")
@staff_required("budtender")
def sales():
    """List today's sales, to reprint, void or take a return."""
    store = current_store()
    number = (request.args.get("number") or "").strip().lstrip("#")
    wanted = parse_id(number)
    if wanted is not None:
        order = db.session.get(Order, wanted)
        if (
            order is not None
            and order.store_id == store.id
            and order.status
            in (
                "completed",
                "voided",
            )
        ):
            return redirect(url_for("register.receipt", order_id=order.id), 303)
    today = store.business_date()
    orders = sales_on(store, today)
    return render(
        "register/sales.html",
        block="screen",
        store=store,
        operator=current_operator(),
        orders=orders,
        refunded=refunded_by_order([order.id for order in orders]),
        return_status=return_status,
        returns=returns_on(store, today),
        report_statuses=sale_report_statuses([order.id for order in orders]),
        report_labels=SHOWN_STATUSES,
        number=number,
        not_found=bool(number),
    )
