"""Voiding a completed sale on its business day: restock, refund the cash, report the void."""

from datetime import date

from extensions import db
from models.base import utcnow
from models.compliance.outbox import queue_report
from models.infra import audit
from models.people.users import User
from models.sales.cash_drawer import CashDrawer, DrawerError, take_out
from models.sales.completion import lock_sale, move_stock
from models.sales.errors import NeedsApproval, SaleError
from models.sales.orders import Order
from models.sales.returns import refund_room
from models.stock.management import lock_packages


def cash_refund(order: Order, amount: int, user: User, drawer: CashDrawer | None, why: str) -> None:
    """Hand cash back from the register's drawer, or refuse when no drawer is open."""
    if amount <= 0:
        return
    if drawer is None:
        raise SaleError("Open a cash drawer on this register to hand the cash back.")
    try:
        take_out(drawer, "refund", amount, why, user, order_id=order.id)
    except DrawerError as exc:
        raise SaleError(str(exc)) from exc


def can_void(order: Order, today: date | None = None) -> bool:
    """Say whether a sale may still be voided: completed, on the store's current business day."""
    today = today or order.store.business_date()
    return order.status == "completed" and order.business_date == today


def void_sale(
    order: Order,
    reason: str,
    manager: User,
    *,
    operator: User | None = None,
    drawer: CashDrawer | None = None,
) -> Order:
    """Void a completed sale the same business day: restock it, refund cash, report the void."""
    reason = (reason or "").strip()
    if not reason:
        raise SaleError("Give a reason for the void (it is reported and audited).")
    if not manager.has_role(order.store, "manager"):
        raise NeedsApproval("Only a manager can void a sale: ask one to enter their PIN.")
    order = lock_sale(order.id)
    if order.status == "voided":
        raise SaleError("This sale was already voided.", status=409)
    if order.status != "completed":
        raise SaleError("Only a completed sale can be voided.", status=409)
    if not can_void(order):
        raise SaleError(
            "A sale can only be voided on the business day it was made; use a return instead.",
            status=409,
        )
    actor = operator or manager
    back = {line.id: line.quantity - line.returned_quantity for line in order.lines}
    by_package: dict[int, int] = {}
    for line in order.lines:
        if back[line.id] > 0 and line.package_id is not None:
            by_package[line.package_id] = by_package.get(line.package_id, 0) + back[line.id]
    for package in lock_packages(by_package):
        move_stock(package, by_package[package.id], "void", order, actor, note=reason[:300])
    room = refund_room(order)
    refund = min(room.cash_cents, room.total_cents)
    cash_refund(order, refund, actor, drawer, f"Void of sale #{order.id}")
    order.status = "voided"
    order.voided_at = utcnow()
    order.voided_by_id = manager.id
    order.void_reason = reason[:300]
    db.session.flush()
    queue_report("void", order.store, order=order)
    audit.record(
        "sale.void",
        store_id=order.store_id,
        user_id=manager.id,
        obj=order,
        reason=reason[:300],
        operator_id=actor.id,
        total_cents=order.total_cents,
        cash_refund_cents=refund,
    )
    return order
