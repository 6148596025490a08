"""The relay: Redis can lose jobs, the outbox cannot. Re-enqueue every license whose job is gone."""

import logging

from sqlalchemy import func, select

from extensions import db
from jobs.context import in_app_context
from jobs.queues import enqueue_once, redis_connection
from jobs.reports import JOB_TIMEOUT, deliver_after_commit, drain_license, job_id_for
from models.compliance.clock import clock
from models.compliance.outbox import ComplianceLicense, ComplianceReport, oldest_pending

log = logging.getLogger("pistil.relay")


def stores_with_pending() -> list[int]:
    """Return the stores that have reports waiting, and are not paused."""
    paused = select(ComplianceLicense.store_id).where(ComplianceLicense.paused.is_(True))
    return list(
        db.session.scalars(
            select(ComplianceReport.store_id)
            .where(ComplianceReport.status == "pending", ComplianceReport.store_id.not_in(paused))
            .group_by(ComplianceReport.store_id)
            .order_by(func.min(ComplianceReport.id))
        )
    )


def due_head(store_id: int):
    """Return the license's head report if it may go now and no live sender holds the lane."""
    now = clock.now()
    head = oldest_pending(store_id)
    lane = db.session.scalar(
        select(ComplianceLicense).where(ComplianceLicense.store_id == store_id)
    )
    if head is None:
        return None
    if head.next_attempt_at and head.next_attempt_at > now:
        return None
    if lane is not None:
        if lane.not_before and lane.not_before > now:
            return None
        if lane.lease_owner and lane.lease_until and lane.lease_until > now:
            return None
    return head


@in_app_context
def relay() -> dict[str, int]:
    """Give every license with due reports a sender; return how many were enqueued or run."""
    counts = {"enqueued": 0, "drained": 0, "alive": 0}
    for store_id in stores_with_pending():
        head = due_head(store_id)
        if head is None:
            continue
        report_id = head.id
        db.session.rollback()
        if redis_connection() is None:
            # The embedded mode has no worker: send right here.
            drain_license(store_id)
            counts["drained"] += 1
            continue
        job_id = job_id_for(report_id)
        # A finished, failed or orphaned (worker killed) job of the same id is replaced.
        if not enqueue_once(
            "reports", deliver_after_commit, report_id, job_id=job_id, job_timeout=JOB_TIMEOUT
        ):
            counts["alive"] += 1
            continue
        counts["enqueued"] += 1
        log.info("relay: enqueued %s for store %s", job_id, store_id)
    return counts
