"""Reconciliation: the state's receipts for a business day against ours, every difference listed."""

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from extensions import db
from jobs.context import in_app_context
from jobs.lanes import Lane
from jobs.queues import PlannedJob, carries
from models.base import utcnow
from models.compliance.alerts import alert, alerted_since
from models.compliance.clock import clock
from models.compliance.outbox import (
    ComplianceReport,
    ReconciliationItem,
    ReconciliationRun,
)
from models.compliance.payloads import SaleFact
from models.compliance.reconciliation import open_run
from models.sales.orders import Order
from models.stores.store import Store
from models.units import money
from tracktrace.adapters import adapter_for
from tracktrace.base import StateError, StateReceipt

log = logging.getLogger("pistil.reconcile")
LANE_WAIT_SECONDS = 30.0
# Differences still unsettled this long after they were found page the managers (T12).
OVERDUE_AFTER = timedelta(hours=24)
OVERDUE = "tracktrace.reconciliation_overdue"


@dataclass
class Ours:
    """What we told (or owe) the state about one sale, as it should stand now."""

    external_number: str
    order_id: int
    report: ComplianceReport | None
    line_count: int
    total_cents: int
    voided: bool

    def as_dict(self) -> dict:
        return {
            "order_id": self.order_id,
            "lines": self.line_count,
            "total_cents": self.total_cents,
            "voided": self.voided,
            "report_status": self.report.status if self.report else None,
        }


def receipt_dict(receipt: StateReceipt) -> dict:
    return {
        "state_id": receipt.state_id,
        "lines": receipt.line_count,
        "total_cents": receipt.total_cents,
        "voided": receipt.voided,
        "sold_at": receipt.sold_at,
    }


def our_sales(store: Store, day: date) -> dict[str, Ours]:
    """Return the day's completed (or since voided) sales, each as the state should hold it."""
    orders = db.session.scalars(
        select(Order).where(
            Order.store_id == store.id,
            Order.business_date == day,
            Order.status.in_(("completed", "voided")),
        )
    ).all()
    ours: dict[str, Ours] = {}
    for order in orders:
        reports = db.session.scalars(
            select(ComplianceReport)
            .where(ComplianceReport.order_id == order.id)
            .order_by(ComplianceReport.id)
        ).all()
        sale = next((r for r in reports if r.kind == "sale"), None)
        latest = next((r for r in reversed(reports) if r.kind in ("sale", "return")), None)
        # Sale and return rows hold a sale's snapshot: its lines as they stand.
        lines = cast(SaleFact, latest.payload)["lines"] if latest else []
        ours[str(order.id)] = Ours(
            external_number=str(order.id),
            order_id=order.id,
            report=sale,
            line_count=len(lines),
            total_cents=sum(line["amount_cents"] for line in lines),
            voided=order.status == "voided" or any(r.kind == "void" for r in reports),
        )
    return ours


def compare(ours: dict[str, Ours], theirs: list[StateReceipt]) -> tuple[int, list[dict]]:
    """Return how many sales match and a description of every difference."""
    by_number: dict[str, list[StateReceipt]] = {}
    extras: list[StateReceipt] = []
    for receipt in theirs:
        if receipt.external_number and receipt.external_number in ours:
            by_number.setdefault(receipt.external_number, []).append(receipt)
        else:
            extras.append(receipt)
    matched, differences = 0, []
    for number, mine in ours.items():
        found = by_number.get(number, [])
        live = [r for r in found if not r.voided]
        if mine.voided:
            if live:
                differences.append(
                    difference("differs", mine, live[0], "Voided here, still active at the state.")
                )
            else:
                matched += 1
            continue
        if not found:
            differences.append(difference("missing_at_state", mine, None, missing_text(mine)))
            continue
        if len(live) > 1:
            ids = ", ".join(r.state_id for r in live)
            text = (
                f"The state holds {len(live)} receipts for this sale (ids {ids}): reported twice."
            )
            differences.append(difference("differs", mine, live[1], text))
            continue
        if not live:
            differences.append(
                difference("differs", mine, found[0], "Voided at the state, completed here.")
            )
            continue
        problems = []
        if live[0].line_count != mine.line_count:
            problems.append(f"{mine.line_count} lines here, {live[0].line_count} at the state")
        if live[0].total_cents != mine.total_cents:
            problems.append(
                f"total {money(mine.total_cents)} here, {money(live[0].total_cents)} at the state"
            )
        if problems:
            differences.append(difference("differs", mine, live[0], "; ".join(problems) + "."))
        else:
            matched += 1
    for receipt in extras:
        text = (
            f"The state holds receipt {receipt.state_id} "
            f"({receipt.external_number or 'no external number'}, {money(receipt.total_cents)}) "
            "that Pistil has no sale for (entered in the state's own screens?)."
        )
        differences.append(
            {
                "kind": "missing_here",
                "key": f"state:{receipt.state_id}",
                "external_number": receipt.external_number,
                "state_id": receipt.state_id,
                "report_id": None,
                "ours": {},
                "theirs": receipt_dict(receipt),
                "detail": text,
            }
        )
    return matched, differences


def missing_text(mine: Ours) -> str:
    if mine.report is None:
        return "Sale completed here but never queued for the state."
    status = mine.report.status.replace("_", " ")
    return f"Not at the state; our report is {status}."


def difference(kind: str, mine: Ours, receipt: StateReceipt | None, detail: str) -> dict:
    return {
        "kind": kind,
        "key": f"sale:{mine.external_number}",
        "external_number": mine.external_number,
        "state_id": receipt.state_id if receipt else None,
        "report_id": mine.report.id if mine.report else None,
        "ours": mine.as_dict(),
        "theirs": receipt_dict(receipt) if receipt else {},
        "detail": detail,
    }


def fetch_state_receipts(store: Store, day: date) -> list[StateReceipt]:
    """Read the state's receipts for the day inside the license's lane (one request at a time)."""
    lane = Lane(store.id)
    waited = 0.0
    while not lane.acquire():
        if waited >= LANE_WAIT_SECONDS:
            raise StateError("The license is busy sending reports; try the reconciliation again.")
        time.sleep(0.5)
        waited += 0.5
    try:
        return adapter_for(store, pace=lane.pace).receipts_for_day(day)
    finally:
        lane.release()


@carries("reconciliation")
def reconciliation_job(run_id: int) -> PlannedJob:
    """Plan the job that carries out a run a person opened, once it committed."""
    # The state's paged answers are read off the request: a worker, or a thread without Redis.
    return PlannedJob(carry_out_job, (run_id,), f"reconcile-{run_id}", background=True)


@in_app_context
def carry_out_job(run_id: int) -> None:
    """Carry out an opened run (the job the back office's "Reconcile now" starts)."""
    carry_out(db.session.get_one(ReconciliationRun, run_id))


def reconcile(store: Store, day: date) -> ReconciliationRun:
    """Compare the state's receipts for a business day with ours and keep every difference."""
    run = open_run(store, day)
    db.session.commit()
    return carry_out(run)


def carry_out(run: ReconciliationRun) -> ReconciliationRun:
    """Fetch the state's receipts for an opened run, compare them with ours, keep what differs."""
    store, day = db.session.get_one(Store, run.store_id), run.business_date
    if store.tracktrace_dry_run:
        run.error = "Dry run: nothing was sent to the state, so there is nothing to compare."
        run.finished_at = clock.now()
        db.session.commit()
        return run
    try:
        theirs = fetch_state_receipts(store, day)
    except StateError as problem:
        run = db.session.get_one(ReconciliationRun, run.id)
        run.error = problem.message
        run.finished_at = clock.now()
        db.session.commit()
        return run
    run = db.session.get_one(ReconciliationRun, run.id)
    ours = our_sales(store, day)
    matched, differences = compare(ours, theirs)
    settled = earlier_resolutions(store.id, day)
    for found in differences:
        item = ReconciliationItem(run=run, store_id=store.id, business_date=day, **found)
        previous = settled.get((found["key"], found["detail"]))
        if previous is not None:
            item.resolved_at = previous.resolved_at
            item.resolved_by_id = previous.resolved_by_id
            item.resolution_note = previous.resolution_note
        db.session.add(item)
    run.state_receipts = len(theirs)
    run.our_receipts = len(ours)
    run.matched = matched
    run.differences = len(differences)
    run.finished_at = clock.now()
    open_items = [d for d in differences if (d["key"], d["detail"]) not in settled]
    if open_items:
        alert(
            store.id,
            "tracktrace.reconciliation_differences",
            f"Reconciliation of {day.isoformat()}: {len(open_items)} difference(s) with the state.",
            path=f"/manage/compliance/reconcile?date={day.isoformat()}",
        )
    db.session.commit()
    return run


def earlier_resolutions(store_id: int, day: date) -> dict[tuple[str, str], ReconciliationItem]:
    """Return settled differences of earlier runs for the same day, so a re-run keeps them."""
    rows = db.session.scalars(
        select(ReconciliationItem).where(
            ReconciliationItem.store_id == store_id,
            ReconciliationItem.business_date == day,
            ReconciliationItem.resolved_at.is_not(None),
        )
    )
    return {(row.key, row.detail): row for row in rows}


def overdue_differences(now: datetime) -> list[tuple[int, int, date]]:
    """Return (store id, count, oldest day) of open differences found more than 24 h ago.

    Only the latest complete run of each day counts (a re-run replaces the list), and a
    difference is as old as the first run that found it, so re-running does not reset it.
    """
    latest_runs = (
        select(func.max(ReconciliationRun.id))
        .where(ReconciliationRun.finished_at.is_not(None), ReconciliationRun.error.is_(None))
        .group_by(ReconciliationRun.store_id, ReconciliationRun.business_date)
    )
    first = aliased(ReconciliationItem)
    found_at = (
        select(func.min(first.created_at))
        .where(
            first.store_id == ReconciliationItem.store_id,
            first.business_date == ReconciliationItem.business_date,
            first.key == ReconciliationItem.key,
        )
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(
            ReconciliationItem.store_id,
            func.count(),
            func.min(ReconciliationItem.business_date),
        )
        .where(
            ReconciliationItem.resolved_at.is_(None),
            ReconciliationItem.run_id.in_(latest_runs),
            found_at < now - OVERDUE_AFTER,
        )
        .group_by(ReconciliationItem.store_id)
        .order_by(ReconciliationItem.store_id)
    )
    return [(store_id, count, oldest) for store_id, count, oldest in rows]


def page_overdue_differences(now: datetime) -> list[int]:
    """Alert the managers of stores with differences open over 24 h, once a day per store."""
    paged = []
    for store_id, count, oldest in overdue_differences(now):
        # The audit trail, not memory: every cron process sees the day's page already went out.
        if alerted_since(store_id, OVERDUE, utcnow() - OVERDUE_AFTER):
            continue
        alert(
            store_id,
            OVERDUE,
            f"{count} reconciliation difference(s) still unsettled more than 24 hours after "
            f"they were found; the oldest is from business day {oldest.isoformat()}.",
            path=f"/manage/compliance/reconcile?date={oldest.isoformat()}",
        )
        paged.append(store_id)
    db.session.commit()
    return paged
