"""Discounts on a line or a whole sale: a reason always, a manager's approval above a threshold."""

from models import units
from models.infra import audit
from models.people.users import User
from models.sales.amounts import discount_amount, line_gross
from models.sales.errors import NeedsApproval, SaleError
from models.sales.lines import editable, line_of
from models.sales.orders import Order, OrderLine
from models.sales.totals import SaleState, recompute
from models.stores.store import Store
from models.units import money


def needs_approval(store: Store, base_cents: int, amount_cents: int) -> bool:
    """Say whether a discount is above the store's threshold (percent of its base, or cents)."""
    if amount_cents <= 0:
        return False
    over_amount = amount_cents > store.discount_approval_cents
    over_percent = amount_cents * 10000 > store.discount_approval_bp * base_cents
    return over_amount or over_percent


def _discount_spec(kind: str | None, value: int | None, reason: str) -> tuple[str | None, int]:
    if not kind or not value:
        return None, 0
    if kind not in ("percent", "amount"):
        raise SaleError("Choose a percent or an amount.")
    if kind == "percent" and not 0 < value <= 10000:
        raise SaleError("A percent discount is between 0 and 100%.")
    if value < 0:
        raise SaleError("A discount cannot be negative.")
    if not (reason or "").strip():
        raise SaleError("Give a reason for the discount (it is on the audit trail).")
    return kind, value


def _approve(
    store: Store, actor: User, approver: User | None, base: int, amount: int
) -> User | None:
    if not needs_approval(store, base, amount):
        return None
    if actor.has_role(store, "manager"):
        return actor
    if approver is None or not approver.has_role(store, "manager"):
        raise NeedsApproval(
            f"A discount of {money(amount)} is above this store's limit "
            f"({units.percent(store.discount_approval_bp, places=2)} or "
            f"{money(store.discount_approval_cents)}): a manager must approve it with their PIN."
        )
    return approver


def set_line_discount(
    order: Order,
    line_id: int,
    kind: str | None,
    value: int | None,
    reason: str,
    actor: User,
    approver: User | None = None,
) -> SaleState:
    """Discount one line by a percent (hundredths) or cents, with a reason; 0 removes it."""
    editable(order)
    line = line_of(order, line_id)
    kind, value = _discount_spec(kind, value, reason)
    base = line_gross(line)
    amount = discount_amount(kind, value, base)
    _record_discount(order, line, "line", kind, value, reason, actor, approver, base, amount)
    return recompute(order)


def set_sale_discount(
    order: Order,
    kind: str | None,
    value: int | None,
    reason: str,
    actor: User,
    approver: User | None = None,
) -> SaleState:
    """Discount the whole sale by a percent (hundredths) or cents, with a reason; 0 removes it."""
    editable(order)
    kind, value = _discount_spec(kind, value, reason)
    base = sum(line_gross(line) - line.discount_cents for line in order.lines)
    amount = discount_amount(kind, value, base)
    _record_discount(order, order, "sale", kind, value, reason, actor, approver, base, amount)
    return recompute(order)


def _record_discount(
    order: Order,
    target: Order | OrderLine,
    scope: str,
    kind: str | None,
    value: int | None,
    reason: str,
    actor: User,
    approver: User | None,
    base: int,
    amount: int,
) -> None:
    """Set a line's or the sale's discount after the approval check, and audit it."""
    approved = _approve(order.store, actor, approver, base, amount)
    target.discount_kind, target.discount_value = kind, value or None
    target.discount_reason = reason.strip()[:200] if kind else None
    target.discount_approved_by_id = approved.id if approved else None
    extra = {"line_id": target.id} if scope == "line" else {}
    audit.record(
        f"discount.{scope}" if kind else f"discount.{scope}_removed",
        store_id=order.store_id,
        user_id=actor.id,
        obj=order,
        reason=target.discount_reason,
        **extra,
        kind=kind,
        value=value,
        amount_cents=amount,
        approved_by=approved.id if approved else None,
    )


def discount_text(kind: str | None, value: int | None) -> str:
    """Return a discount as it was typed: "12.5" for 12.5 %, "5.00" for $5."""
    if not kind or not value:
        return ""
    if kind == "percent":
        return units.percent_amount(value)
    return units.money_amount(value)
