"""Snapshots of what a report says, taken from the database rows in the reporting transaction.

The snapshot is system-neutral (integer cents, units or milligrams, UTC instants); each adapter
turns it into its state's wire format when it sends. Taking it in the sale's own transaction
means a later edit of the order cannot change what the state is told about the sale.
Personal numbers (medical cards) are not copied here: the adapter reads them when it sends.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from models.base import utcnow
from models.compliance.payloads import (
    AdjustmentFact,
    LineFact,
    ReportPayload,
    ReturnFact,
    SaleFact,
    VoidFact,
)
from models.sales.orders import Order, OrderLine
from models.stock.packages import StockMovement
from models.stores.store import Store

# Hours after the fact for states that want reports in (near) real time; the rest want the sale
# reported by the end of its business day (CA, NM and the default, reference §3).
REALTIME_STATES = {"OK": timedelta(hours=1)}


@dataclass(frozen=True)
class Fact:
    """The outbox row's identity and snapshot."""

    key: str
    external_number: str
    payload: ReportPayload
    deadline_at: datetime


def deadline_for(store: Store, at: datetime) -> datetime:
    """Return when the state wants a fact that happened at `at` reported."""
    if store.state in REALTIME_STATES:
        return at + REALTIME_STATES[store.state]
    local_day = at.astimezone(store.zone).date()
    end = datetime.combine(local_day, time(23, 59, 59), tzinfo=store.zone)
    return end.astimezone(UTC)


def customer_type(order: Order) -> str:
    """Return who bought: consumer, patient, or caregiver buying for a patient."""
    if order.customer_class != "medical" or order.customer is None:
        return "consumer"
    return "caregiver" if order.patient_id else "patient"


def line_fact(line: OrderLine, quantity: int, amount_cents: int) -> LineFact:
    """Return one line as the state sees it: package tag, quantity and its price."""
    return {
        "line_id": line.id,
        "tag": line.package_tag,
        "name": line.name,
        "quantity": quantity,
        "unit": "each" if line.unit == "each" else "grams",
        "amount_cents": amount_cents,
    }


def prorated_cents(line: OrderLine, quantity: int) -> int:
    """Return the share of a line's total for part of its quantity, rounded half up."""
    if quantity == line.quantity:
        return line.line_total_cents
    return (line.line_total_cents * quantity * 2 + line.quantity) // (line.quantity * 2)


def sale_payload(order: Order) -> SaleFact:
    """Return the sale as it was completed."""
    sold_at = order.completed_at or utcnow()
    lines = [line_fact(line, line.quantity, line.line_total_cents) for line in order.lines]
    return {
        "order_id": order.id,
        "sold_at": sold_at.isoformat(),
        "business_date": (order.business_date or order.store.business_date(sold_at)).isoformat(),
        "customer_type": customer_type(order),
        "customer_id": order.customer_id,
        "patient_id": order.patient_id,
        "lines": lines,
        "subtotal_cents": order.subtotal_cents,
        "tax_cents": order.tax_cents,
        "total_cents": sum(line["amount_cents"] for line in lines),
    }


def returned_before(earlier_returns: Sequence[ReturnFact]) -> dict[int, int]:
    """Return how much of each line earlier return reports already told the state about."""
    totals: dict[int, int] = {}
    for payload in earlier_returns:
        for line in payload["returned"]:
            totals[line["line_id"]] = totals.get(line["line_id"], 0) + line["quantity"]
    return totals


def return_payload(order: Order, earlier_returns: Sequence[ReturnFact]) -> ReturnFact:
    """Return what came back this time and what the sale amounts to now."""
    earlier = returned_before(earlier_returns)
    returned, remaining = [], []
    for line in order.lines:
        now_back = line.returned_quantity - earlier.get(line.id, 0)
        if now_back > 0:
            returned.append(line_fact(line, now_back, prorated_cents(line, now_back)))
        left = line.quantity - line.returned_quantity
        if left > 0:
            remaining.append(line_fact(line, left, prorated_cents(line, left)))
    if not returned:
        raise ValueError(f"order {order.id} has no returned quantity that was not reported yet")
    return {
        **sale_payload(order),
        "returned": returned,
        "lines": remaining,
        "total_cents": sum(line["amount_cents"] for line in remaining),
        "returned_at": utcnow().isoformat(),
        "sale_external_number": str(order.id),
    }


def adjustment_payload(store: Store, movement: StockMovement) -> AdjustmentFact:
    """Return a package adjustment: the tag, the signed change and the state's reason code."""
    at = movement.created_at or utcnow()
    package = movement.package
    return {
        "movement_id": movement.id,
        "tag": package.tag,
        "unit": package.unit,
        "delta": movement.delta,
        "quantity_after": movement.quantity_after,
        "reason_code": movement.reason_code,
        "note": movement.note,
        "adjusted_at": at.isoformat(),
        "date": store.business_date(at).isoformat(),
    }


def void_payload(order: Order) -> VoidFact:
    """Return a void: which sale, when, and why."""
    return {
        "order_id": order.id,
        "sale_external_number": str(order.id),
        "voided_at": (order.voided_at or utcnow()).isoformat(),
        "reason": order.void_reason,
    }


def build_fact(
    kind: str,
    store: Store,
    *,
    order: Order | None,
    movement: StockMovement | None,
    earlier_returns: Sequence[ReturnFact] = (),
) -> Fact:
    """Return the outbox key, our external number and the snapshot for a report.

    `earlier_returns` are the payloads of the order's return reports already in the outbox.
    """
    if order is not None and order.store_id != store.id:
        raise ValueError("the order belongs to another store")
    deadline = deadline_for(store, utcnow())
    if kind == "adjustment":
        if movement is None:
            raise ValueError("an adjustment report needs its stock movement")
        adjustment = adjustment_payload(store, movement)
        return Fact(f"adjustment:{movement.id}", f"ADJ-{movement.id}", adjustment, deadline)
    if order is None:
        raise ValueError(f"a {kind} report needs its order")
    if kind == "sale":
        return Fact(f"sale:{order.id}", str(order.id), sale_payload(order), deadline)
    if kind == "void":
        return Fact(f"void:{order.id}", str(order.id), void_payload(order), deadline)
    count = len(earlier_returns) + 1
    back = return_payload(order, earlier_returns)
    return Fact(f"return:{order.id}:{count}", f"{order.id}-R{count}", back, deadline)
