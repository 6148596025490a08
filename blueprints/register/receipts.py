"""A completed sale: its receipt and report badge, voids, returns, refund slips, today's list."""

from flask import flash, get_flashed_messages, redirect, request, url_for

from blueprints.access import current_store, polled, store_object
from blueprints.htmx import form_error_status, fragment_of, navigate, render, wants_fragment
from blueprints.register import bp
from blueprints.register.common import (
    ApprovalRefused,
    approve,
    current_operator,
    managers_here,
    tablet_drawer,
)
from blueprints.register.forms import ReturnForm, VoidForm
from extensions import db
from models.compliance.outbox import SHOWN_STATUSES, sale_report_statuses
from models.infra.numbers import parse_id
from models.sales.completion import change_due
from models.sales.errors import NeedsApproval, SaleError
from models.sales.listing import report_badge, sales_on
from models.sales.orders import Order
from models.sales.returning import ReturnItem, return_items
from models.sales.returns import (
    SaleReturn,
    approval_reasons,
    refunded_by_order,
    return_status,
    returns_of,
    returns_on,
)
from models.sales.voids import can_void, void_sale
from models.units import money


def _order(order_id: int) -> Order:
    return store_object(Order, order_id)


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


@bp.get("/sale/<id:order_id>/receipt")
def receipt(order_id: int):
    """Show the printable receipt with each tax, the tenders and the state-report status."""
    order = _order(order_id)
    if order.status not in ("completed", "voided"):
        return redirect(url_for("register.sale", order_id=order.id), 303)
    return _receipt(order)


@bp.get("/sale/<id:order_id>/report-status")
@polled
@fragment_of("register.receipt", "order_id")
def report_status(order_id: int):
    """Return the sale's state-report badge (the receipt polls it while it is queued)."""
    order = _order(order_id)
    return render(
        "register/receipt.html", block="report_status", order=order, badge=report_badge(order)
    )


@bp.post("/sale/<id:order_id>/void")
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


@bp.get("/sale/<id:order_id>/return")
def return_form(order_id: int):
    """Show a completed sale's lines with how much of each can come back."""
    order = _order(order_id)
    if order.status != "completed":
        return redirect(url_for("register.receipt", order_id=order.id), 303)
    return _return_page(order)


@bp.post("/sale/<id:order_id>/return")
def return_submit(order_id: int):
    """Take items back (restock or destroy per line), refund, and report the return."""
    order = _order(order_id)
    form = ReturnForm.for_lines(order.lines)()
    if not form.validate_on_submit():
        return _return_page(order, form, form_error_status(), form.amount_error())
    items = [ReturnItem(*back) for back in form.coming_back(order.lines)]
    try:
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


@bp.get("/returns/<id:return_id>/slip")
def refund_slip(return_id: int):
    """Show a return's printable refund slip: what came back, the refund, where to sign."""
    back = store_object(SaleReturn, return_id)
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
