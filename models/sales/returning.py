"""Taking sold items back: restock or destroy each, refund what they paid, report the return."""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from extensions import db
from models import units
from models.compliance.outbox import queue_report
from models.infra import audit
from models.people.users import User
from models.sales.cash_drawer import CashDrawer
from models.sales.completion import lock_sale, move_stock
from models.sales.errors import NeedsApproval, SaleError
from models.sales.orders import Order, OrderLine
from models.sales.returns import (
    REFUND_KINDS,
    RefundRoom,
    SaleReturn,
    SaleReturnLine,
    approval_reasons,
    line_payments,
    line_refund,
    refund_room,
)
from models.sales.voids import cash_refund
from models.stock.management import lock_packages
from models.stock.packages import StockMovement
from models.stores.store import Store
from models.units import money


@dataclass(frozen=True)
class ReturnItem:
    """Part of a sold line coming back: restocked to its package, or destroyed."""

    line: OrderLine
    quantity: int
    disposition: str


def return_items(
    order: Order,
    items: Sequence[ReturnItem],
    reason: str,
    user: User,
    *,
    refund_kind: str = "paid",
    drawer: CashDrawer | None = None,
    approver: User | None = None,
    client_token: str | None = None,
) -> SaleReturn:
    """Take sold items back (restock or destroy each), refund, report; return the return.

    The refund is what the returned units paid, never more; it goes back in cash, to the card,
    or as the sale was paid (card first, then the sale's cash), never more by a tender than the
    sale took by it. Above the store's refund amount, or on a sale older than its refund age, a
    manager approves (NeedsApproval otherwise). The same client_token again returns the same
    return, so a retried submit records nothing twice.
    """
    reason, items, token = _checked_request(reason, items, refund_kind, client_token)
    earlier = _return_by_token(order, token)
    if earlier is not None:
        return earlier
    order = lock_sale(order.id)
    # A retry that waited for the first submit's lock finds what the first one recorded.
    earlier = _return_by_token(order, token)
    if earlier is not None:
        return earlier
    if order.status != "completed":
        raise SaleError("Only a completed sale can take returns.", status=409)
    store = order.store
    lines = {line.id: line for line in order.lines}
    _check_returnable(lines, items)
    room = refund_room(order)
    refunds = _item_refunds(order, lines, items)
    refund = min(sum(refunds), room.total_cents)
    cash, card = _refund_tenders(order, refund, refund_kind, room)
    today = store.business_date()
    why = approval_reasons(store, order, refund, today)
    approved = _approve_return(store, user, approver, why, order, refund, today)
    back = SaleReturn(
        store_id=store.id,
        order_id=order.id,
        user_id=user.id,
        approved_by_id=approved.id if approved else None,
        drawer_id=drawer.id if cash and drawer is not None else None,
        client_token=token,
        business_date=today,
        reason=reason[:300],
        cash_cents=cash,
        card_cents=card,
    )
    destroyed = _take_back(back, order, lines, items, refunds, user)
    db.session.add(back)
    cash_refund(order, cash, user, drawer, f"Return on sale #{order.id}")
    db.session.flush()
    queue_report("return", store, order=order)
    for movement in destroyed:
        queue_report("adjustment", store, movement=movement)
    audit.record(
        "sale.return",
        store_id=order.store_id,
        user_id=user.id,
        obj=order,
        reason=back.reason,
        return_id=back.id,
        refund_cents=refund,
        cash_cents=cash,
        card_cents=card,
        refund_kind=refund_kind,
        approved_by=approved.id if approved else None,
        items=[
            {"line_id": i.line.id, "quantity": i.quantity, "disposition": i.disposition}
            for i in items
        ],
    )
    if approved is not None:
        _audit_approval(back, order, user, approved, why, refund, today)
    return back


def _checked_request(
    reason: str, items: Sequence[ReturnItem], refund_kind: str, client_token: str | None
) -> tuple[str, list[ReturnItem], str | None]:
    """Return the reason, the items that bring something back and the token, or refuse them."""
    reason = (reason or "").strip()
    if not reason:
        raise SaleError("Give a reason for the return (it is reported and audited).")
    kept = [item for item in items if item.quantity > 0]
    if not kept:
        raise SaleError("Choose at least one item and how many come back.")
    if refund_kind not in REFUND_KINDS:
        raise SaleError("Refund in cash, back to the debit card, or as the sale was paid.")
    token = (client_token or "").strip() or None
    if token is not None and len(token) > 64:
        raise SaleError("This return form is stale; reload it and try again.")
    return reason, kept, token


def _check_returnable(lines: Mapping[int, OrderLine], items: Sequence[ReturnItem]) -> None:
    """Refuse items not on the sale, without a disposition, or beyond what can still come back."""
    wanted: dict[int, int] = defaultdict(int)
    for item in items:
        if item.disposition not in ("restock", "destroy"):
            raise SaleError("Choose whether each returned item is restocked or destroyed.")
        line = lines.get(item.line.id)
        if line is None:
            raise SaleError("That item is not on this sale.", status=404)
        # Summed per line: the same line twice in one return cannot pass the check twice.
        wanted[line.id] += item.quantity
    for line_id, quantity in wanted.items():
        line = lines[line_id]
        left = line.quantity - line.returned_quantity
        if quantity > left:
            shown = units.grams(left) if line.unit == "grams" else str(left)
            raise SaleError(f"Only {shown} of {line.name} can still come back.")


def _item_refunds(
    order: Order, lines: Mapping[int, OrderLine], items: Sequence[ReturnItem]
) -> list[int]:
    """Return what each item paid, counting it as returned on its line."""
    paid = line_payments(order)
    refunds = []
    for item in items:
        line = lines[item.line.id]
        refunds.append(line_refund(line, paid[line.id], item.quantity))
        # The next item of the same line refunds from where this one leaves the line.
        line.returned_quantity += item.quantity
    return refunds


def _take_back(
    back: SaleReturn,
    order: Order,
    lines: Mapping[int, OrderLine],
    items: Sequence[ReturnItem],
    refunds: Sequence[int],
    user: User,
) -> list[StockMovement]:
    """Restock each item to its package (then destroy it if so); return the destructions."""
    package_ids = {lines[i.line.id].package_id for i in items}
    packages = {p.id: p for p in lock_packages(pid for pid in package_ids if pid is not None)}
    destroyed: list[StockMovement] = []
    for item, cents in zip(items, refunds, strict=True):
        line = lines[item.line.id]
        back.lines.append(
            SaleReturnLine(
                order_line_id=line.id,
                quantity=item.quantity,
                disposition=item.disposition,
                refund_cents=cents,
            )
        )
        if line.package_id is None:
            continue
        package = packages[line.package_id]
        move_stock(package, item.quantity, "return", order, user, note=back.reason)
        if item.disposition == "destroy":
            note = f"Returned on sale #{order.id} and destroyed: {back.reason}"[:300]
            destroyed.append(
                move_stock(
                    package, -item.quantity, "destroy", order, user, reason_code="Waste", note=note
                )
            )
    return destroyed


def _audit_approval(
    back: SaleReturn,
    order: Order,
    user: User,
    approved: User,
    why: list[str],
    refund: int,
    today: date,
) -> None:
    audit.record(
        "sale.return_approved",
        store_id=order.store_id,
        user_id=approved.id,
        obj=order,
        reason=back.reason,
        return_id=back.id,
        operator_id=user.id,
        why=why,
        refund_cents=refund,
        sale_age_days=(today - order.business_date).days if order.business_date else None,
    )


def _return_by_token(order: Order, token: str | None) -> SaleReturn | None:
    if token is None:
        return None
    earlier = db.session.scalar(select(SaleReturn).where(SaleReturn.client_token == token))
    if earlier is not None and earlier.order_id != order.id:
        raise SaleError("This return form was already used for another sale; reload it.")
    return earlier


def _refund_tenders(order: Order, refund: int, kind: str, room: RefundRoom) -> tuple[int, int]:
    """Split a refund into (cash, card) as asked, never beyond what the sale took by each."""
    cash_paid = sum(t.amount_cents for t in order.tenders if t.kind == "cash")
    if kind == "cash" and refund > room.cash_cents:
        given = "" if room.cash_cents == cash_paid else f", {money(room.cash_cents)} of it left"
        raise SaleError(
            f"This sale took {money(cash_paid)} in cash{given}: a {money(refund)} refund "
            "cannot all go back in cash. Refund it as paid, or to the debit card."
        )
    if kind == "debit" and refund > room.card_cents:
        raise SaleError(
            f"Only {money(room.card_cents)} of this sale can still go back to the card: "
            f"a {money(refund)} refund cannot. Refund it as paid, or in cash."
        )
    if kind == "cash":
        return refund, 0
    if kind == "debit":
        return 0, refund
    # As paid: back to the card first (less cash leaves the drawer), then the sale's cash.
    card = min(refund, room.card_cents)
    return refund - card, card


def _approve_return(
    store: Store,
    user: User,
    approver: User | None,
    why: list[str],
    order: Order,
    refund: int,
    today: date,
) -> User | None:
    """Return the manager who approves a return that needs one, or refuse it."""
    if not why:
        return None
    if user.has_role(store, "manager"):
        return user
    if approver is not None and approver.has_role(store, "manager"):
        return approver
    reasons = []
    if "amount" in why:
        reasons.append(
            f"a refund of {money(refund)} is above this store's "
            f"{money(store.refund_approval_cents)} limit"
        )
    if "age" in why and order.business_date is not None:
        age = (today - order.business_date).days
        reasons.append(
            f"the sale is {age} days old (over the {store.refund_approval_days} days "
            "this store allows)"
        )
    text = " and ".join(reasons)
    raise NeedsApproval(f"{text[0].upper()}{text[1:]}: a manager must approve it with their PIN.")
