"""The compliance outbox: one row per report owed to the state, written with what it reports."""

import uuid
from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import utcnow
from models.compliance.facts import build_fact
from models.compliance.payloads import ReportPayload, ReturnFact
from models.infra.after_commit import after_commit
from models.model import Model
from models.sales.orders import Order
from models.stock.packages import StockMovement
from models.stores.store import Store

REPORT_KINDS = ("sale", "void", "return", "adjustment")
REPORT_STATUSES = ("pending", "sent", "needs_attention", "dead")
# How people read a report's status. A report only recorded in a dry run was never sent to the
# state: it reads "Recorded (dry run)", never "Reported".
SHOWN_STATUSES = {
    "pending": "Waiting to send",
    "sent": "Reported",
    "recorded": "Recorded (dry run)",
    "needs_attention": "Needs attention",
    "dead": "Failed for good",
}
DIFFERENCE_KINDS = ("missing_at_state", "missing_here", "differs")


class ComplianceReport(Model):
    """A report owed to the state's track-and-trace system, and what happened to it."""

    __tablename__ = "compliance_report"
    __table_args__ = (
        CheckConstraint("kind IN ('sale', 'void', 'return', 'adjustment')", name="kind"),
        CheckConstraint("status IN ('pending', 'sent', 'needs_attention', 'dead')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
        # The sender walks one license's pending rows in id order (a void never overtakes its sale).
        Index("ix_compliance_report_store_queue", "store_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), index=True)
    # One report per fact: e.g. "sale:42", "void:42", "adjustment:17".
    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sale_order.id"), index=True)
    stock_movement_id: Mapped[int | None] = mapped_column(ForeignKey("stock_movement.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    external_number: Mapped[str] = mapped_column(String(64))
    state_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[ReportPayload] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None]
    # BioTrack's RequestID / nonce; fixed before the first try so a retry reuses it.
    request_id: Mapped[str] = mapped_column(String(64), default=lambda: uuid.uuid4().hex)
    # A try went out and its answer never came back: ask the state before sending again.
    in_doubt: Mapped[bool] = mapped_column(default=False)
    deadline_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_http_status: Mapped[int | None]
    # What the sender learnt before a try that a later check needs (e.g. a quantity before).
    progress: Mapped[dict] = mapped_column(JSON, default=dict)
    # Recorded by the dry run, never sent: "sent" then means only that nothing is owed.
    dry_run: Mapped[bool] = mapped_column(default=False, server_default=false())

    store: Mapped[Store] = relationship()
    attempt_log: Mapped[list["ComplianceAttempt"]] = relationship(
        back_populates="report", order_by="ComplianceAttempt.id", cascade="all, delete-orphan"
    )

    @property
    def shown_status(self) -> str:
        """Return the status as people read it (a key of SHOWN_STATUSES)."""
        return shown(self.status, self.dry_run)

    @property
    def label(self) -> str:
        """Return what the report is about, for people."""
        if self.kind == "adjustment":
            return f"Adjustment #{self.stock_movement_id}"
        noun = {"sale": "Sale", "void": "Void of sale", "return": "Return on sale"}[self.kind]
        return f"{noun} #{self.order_id}"


class ComplianceAttempt(Model):
    """One exchange with the state for a report: what we sent and what it answered."""

    __tablename__ = "compliance_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("compliance_report.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    duration_ms: Mapped[int] = mapped_column(default=0)
    action: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(String(300))
    # Personal numbers are masked before a body is kept; credentials are never part of it.
    request_body: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None]
    outcome: Mapped[str] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)

    report: Mapped[ComplianceReport] = relationship(back_populates="attempt_log")


class ComplianceLicense(Model):
    """A store's reporting lane: paused or not, who sends for it now, and its request pacing."""

    __tablename__ = "compliance_license"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"), unique=True)
    paused: Mapped[bool] = mapped_column(default=False)
    pause_reason: Mapped[str | None] = mapped_column(Text)
    paused_at: Mapped[datetime | None]
    # Only the holder of an unexpired lease talks to the state for this license.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_request_at: Mapped[datetime | None]
    # Nothing goes to the state before this (Retry-After, backoff shared by the license).
    not_before: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    store: Mapped[Store] = relationship()


class ReconciliationRun(Model):
    """One comparison of the state's receipts for a business day with ours."""

    __tablename__ = "reconciliation_run"
    __table_args__ = (Index("ix_reconciliation_run_store_day", "store_id", "business_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"))
    business_date: Mapped[date]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    state_receipts: Mapped[int] = mapped_column(default=0)
    our_receipts: Mapped[int] = mapped_column(default=0)
    matched: Mapped[int] = mapped_column(default=0)
    differences: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)

    items: Mapped[list["ReconciliationItem"]] = relationship(
        back_populates="run", order_by="ReconciliationItem.id", cascade="all, delete-orphan"
    )


class ReconciliationItem(Model):
    """A difference between the state's records and ours, and how a person settled it."""

    __tablename__ = "reconciliation_item"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('missing_at_state', 'missing_here', 'differs')", name="difference_kind"
        ),
        UniqueConstraint("run_id", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("reconciliation_run.id", ondelete="CASCADE"), index=True
    )
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"))
    business_date: Mapped[date]
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    external_number: Mapped[str | None] = mapped_column(String(64))
    state_id: Mapped[str | None] = mapped_column(String(64))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("compliance_report.id"))
    ours: Mapped[dict] = mapped_column(JSON, default=dict)
    theirs: Mapped[dict] = mapped_column(JSON, default=dict)
    detail: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolution_note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    run: Mapped[ReconciliationRun] = relationship(back_populates="items")


def queue_report(
    kind: str,
    store: Store,
    *,
    order: Order | None = None,
    movement: StockMovement | None = None,
) -> ComplianceReport:
    """Add a report owed to the state to the current transaction; it is sent after commit."""
    if kind not in REPORT_KINDS:
        raise ValueError(f"unknown report kind {kind!r}")
    db.session.flush()
    earlier_returns: list[ReturnFact] = []
    if kind == "return" and order is not None:
        payloads = db.session.scalars(
            select(ComplianceReport.payload)
            .where(ComplianceReport.order_id == order.id, ComplianceReport.kind == "return")
            .order_by(ComplianceReport.id)
        )
        # Rows of kind "return" hold return payloads.
        earlier_returns = [cast(ReturnFact, payload) for payload in payloads]
    fact = build_fact(kind, store, order=order, movement=movement, earlier_returns=earlier_returns)
    report = ComplianceReport(
        store_id=store.id,
        kind=kind,
        key=fact.key,
        order_id=order.id if order is not None else None,
        stock_movement_id=movement.id if movement is not None else None,
        external_number=fact.external_number,
        payload=fact.payload,
        deadline_at=fact.deadline_at,
        request_id=uuid.uuid4().hex,
        status="pending",
        attempts=0,
        in_doubt=False,
        progress={},
    )
    db.session.add(report)
    db.session.flush()
    after_commit("report", report.id)
    return report


def shown(status: str, dry_run: bool) -> str:
    """Return how people read a report status: a dry run's "sent" is only "recorded"."""
    return "recorded" if status == "sent" and dry_run else status


def status_counts(store_id: int) -> dict[str, int]:
    """Return how many reports of a store are in each shown status (dry runs apart)."""
    rows = db.session.execute(
        select(ComplianceReport.status, ComplianceReport.dry_run, func.count())
        .where(ComplianceReport.store_id == store_id)
        .group_by(ComplianceReport.status, ComplianceReport.dry_run)
    )
    counts = dict.fromkeys(SHOWN_STATUSES, 0)
    for status, dry_run, count in rows:
        counts[shown(status, dry_run)] += count
    return counts


def oldest_pending(store_id: int) -> ComplianceReport | None:
    """Return the store's oldest report still waiting to reach the state."""
    return db.session.scalars(
        select(ComplianceReport)
        .where(ComplianceReport.store_id == store_id, ComplianceReport.status == "pending")
        .order_by(ComplianceReport.id)
        .limit(1)
    ).first()


def sale_report_status(order_id: int) -> str | None:
    """Return the shown status of a sale's report (for the register's receipt badge), or None."""
    return sale_report_statuses([order_id]).get(order_id)


def sale_report_statuses(order_ids: list[int]) -> dict[int, str]:
    """Return {sale id: shown status of its report} for the sales that have one."""
    if not order_ids:
        return {}
    rows = db.session.execute(
        select(ComplianceReport.order_id, ComplianceReport.status, ComplianceReport.dry_run).where(
            ComplianceReport.order_id.in_(order_ids), ComplianceReport.kind == "sale"
        )
    )
    # Sale reports always carry their order.
    return {
        order_id: shown(status, dry_run)
        for order_id, status, dry_run in rows
        if order_id is not None
    }


def license_for(store_id: int) -> ComplianceLicense | None:
    """Return a store's reporting lane if it has one yet."""
    return db.session.scalar(
        select(ComplianceLicense).where(ComplianceLicense.store_id == store_id)
    )


def ensure_license_row(store_id: int, *, commit: bool = True) -> None:
    """Create the store's lane row if it has none (two racing senders both succeed)."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(ComplianceLicense)
        .values(store_id=store_id, paused=False, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["store_id"])
    )
    if commit:
        db.session.commit()
