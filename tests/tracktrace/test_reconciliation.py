"""Reconciliation lists every difference between the state's day and ours; cron runs it nightly."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from tracktrace_support import FAST, complete_sale, metrc_tag, point_at_metrc, stock

from extensions import db
from jobs.cron import due_reconciliations, tick
from jobs.queues import wait_for_background
from jobs.reconcile import reconcile
from models.compliance.clock import clock
from models.compliance.outbox import ReconciliationItem, queue_report
from models.compliance.reconciliation import resend_item, resolve_item
from models.infra.audit import AuditEvent
from support import base_config
from tracktrace.adapters import adapter_for
from tracktrace.emulator import Emulator


@pytest.fixture
def app_config(database_uri):
    config = base_config(database_uri)
    config.update(FAST)
    return config


@pytest.fixture
def emulator():
    with Emulator() as emu:
        yield emu


def reported_sale(store, package, cents=1000):
    order = complete_sale(store, [(package, 1, cents)])
    queue_report("sale", store, order=order)
    db.session.commit()
    wait_for_background()
    return order


def test_every_difference_is_listed_and_can_be_settled(app, store, emulator, make_user):
    point_at_metrc(store, emulator)
    manager = make_user(store, role="manager")
    package = stock(store, emulator, metrc_tag(1), 50)
    matched = reported_sale(store, package)
    changed = reported_sale(store, package, cents=2000)
    voided = reported_sale(store, package)
    never_queued = complete_sale(store, [(package, 1, 500)])
    voided.status = "voided"
    db.session.commit()
    # Someone changed a receipt in Metrc's own screens, and entered one Pistil knows nothing of.
    license_number = store.license_number
    receipt = emulator.world.receipts(license_number, external_number=str(changed.id))[0]
    receipt["TotalPrice"] = receipt["TotalPrice"] + 5
    adapter_for(store).report_sale(
        {"sold_at": matched.completed_at.isoformat(), "customer_type": "consumer",
         "lines": [{"tag": metrc_tag(1), "quantity": 1, "unit": "each", "amount_cents": 900}]},
        external_number="PAPER-1", request_id="x",
    )  # fmt: skip
    day = matched.business_date

    run = reconcile(store, day)
    assert (run.state_receipts, run.our_receipts, run.matched, run.differences) == (4, 4, 1, 4)
    items = {item.key: item for item in run.items}
    assert items[f"sale:{changed.id}"].kind == "differs"
    assert items[f"sale:{changed.id}"].detail == "total $20.00 here, $25.00 at the state."
    assert items[f"sale:{voided.id}"].detail == "Voided here, still active at the state."
    assert items[f"sale:{never_queued.id}"].kind == "missing_at_state"
    assert items[f"sale:{never_queued.id}"].detail == (
        "Sale completed here but never queued for the state."
    )
    (extra,) = [i for i in run.items if i.kind == "missing_here"]
    assert extra.external_number == "PAPER-1" and "that Pistil has no sale for" in extra.detail
    assert (
        db.session.scalar(
            select(AuditEvent.reason).where(
                AuditEvent.action == "tracktrace.reconciliation_differences"
            )
        )
        == f"Reconciliation of {day.isoformat()}: 4 difference(s) with the state."
    )

    with pytest.raises(ValueError, match="Say how"):
        resolve_item(extra, manager.id, "  ")
    resolve_item(extra, manager.id, "Entered on paper during the outage; confirmed with Metrc.")
    resend_item(items[f"sale:{never_queued.id}"], manager.id)
    db.session.commit()
    wait_for_background()
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "tracktrace.reconciliation_resolved")
    )
    assert event.user_id == manager.id and event.reason.startswith("Entered on paper")

    again = reconcile(store, day)
    keys = {item.key: item for item in again.items}
    assert f"sale:{never_queued.id}" not in keys and again.matched == 2
    assert keys[extra.key].resolved_at is not None, "a settled difference stays settled"
    assert keys[extra.key].resolution_note.startswith("Entered on paper")


def test_a_double_report_shows_up(app, store, emulator):
    point_at_metrc(store, emulator)
    package = stock(store, emulator, metrc_tag(2), 10)
    order = reported_sale(store, package)
    # A second POST of the same sale (what Pistil never does) is what reconciliation catches.
    adapter_for(store).report_sale(
        {"sold_at": order.completed_at.isoformat(), "customer_type": "consumer",
         "lines": [{"tag": metrc_tag(2), "quantity": 1, "unit": "each", "amount_cents": 1000}]},
        external_number=str(order.id), request_id="x",
    )  # fmt: skip
    run = reconcile(store, order.business_date)
    (item,) = run.items
    assert item.kind == "differs" and "reported twice" in item.detail


def test_a_state_outage_is_recorded_on_the_run(app, store, emulator):
    point_at_metrc(store, emulator)
    emulator.fail("503", match="GET /sales", times=None)
    run = reconcile(store, store.business_date())
    assert run.error.startswith("Metrc had a server error (HTTP 503")
    assert run.items == []


def test_dry_run_stores_have_nothing_to_compare(app, store):
    run = reconcile(store, store.business_date())
    assert run.error == "Dry run: nothing was sent to the state, so there is nothing to compare."


def test_cron_reconciles_yesterday_after_3_am_once(app, store, emulator):
    point_at_metrc(store, emulator)
    package = stock(store, emulator, metrc_tag(3), 10)
    order = reported_sale(store, package)
    day = order.business_date
    night = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=store.zone)
    clock.fake, saved = True, clock.offset
    try:
        clock.offset = night.replace(hour=2) - clock.now() + clock.offset
        assert due_reconciliations(clock.now()) == []
        clock.offset += timedelta(hours=1, minutes=30)
        assert due_reconciliations(clock.now()) == [(store, day)]
        db.session.rollback()
        done = tick()
        assert done["reconciled"] == [(store.code, day.isoformat(), 0)]
        assert due_reconciliations(clock.now()) == []
    finally:
        clock.fake, clock.offset = False, saved
    assert db.session.scalar(select(ReconciliationItem)) is None
