"""The back office's compliance screens and the `flask tracktrace` commands."""

from datetime import timedelta
from decimal import Decimal

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select
from tracktrace_support import (
    FAST,
    USER_KEY,
    VENDOR_KEY,
    complete_sale,
    metrc_tag,
    point_at_metrc,
    stock,
)

from extensions import db
from jobs.queues import wait_for_background
from jobs.tracktrace_cli import tracktrace_cli
from models.compliance.clock import clock
from models.compliance.outbox import ComplianceReport, ReconciliationRun, license_for, queue_report
from models.infra.audit import AuditEvent
from support import base_config, check_card_at, store_today
from tracktrace.emulator import Emulator, World
from tracktrace.emulator.seed import seed_from_database


@pytest.fixture
def app_config(database_uri):
    config = base_config(database_uri)
    config.update(FAST)
    return config


@pytest.fixture
def emulator():
    with Emulator() as emu:
        yield emu


@pytest.fixture
def manager_client(client, store, make_user, login_as):
    login_as(client, make_user(store, role="manager"))
    return client


def failed_sale(store, emulator, n=1):
    """A sale Metrc refuses (its package is not on Metrc's books)."""
    package = stock(store, emulator, metrc_tag(n), 5, at_state=False)
    order = complete_sale(store, [(package, 1, 1000)])
    report_id = queue_report("sale", store, order=order).id
    db.session.commit()
    wait_for_background()
    return report_id


def test_budtenders_cannot_open_compliance(client, store, make_user, login_as):
    login_as(client, make_user(store))
    assert client.get("/manage/compliance").status_code == 403


def test_counts_list_and_report_detail_with_the_states_answer(manager_client, store, emulator):
    point_at_metrc(store, emulator)
    report_id = failed_sale(store, emulator)
    page = manager_client.get("/manage/compliance").get_data(as_text=True)
    assert "Needs attention" in page and "Sale #" in page
    assert "Test connection" in page and "Pause reporting" in page
    listed = manager_client.get("/manage/compliance?status=needs_attention").get_data(as_text=True)
    assert f"/manage/compliance/reports/{report_id}" in listed
    detail = manager_client.get(f"/manage/compliance/reports/{report_id}").get_data(as_text=True)
    assert "Metrc rejected this sale (HTTP 400)" in detail
    assert "POST /sales/v2/receipts?licenseNumber=" in detail
    assert "ExternalReceiptNumber" in detail and "Retry now" in detail and "Mark handled" in detail
    assert "style=" not in detail and "<script>" not in detail


def test_retry_and_mark_handled_are_audited(manager_client, store, emulator):
    point_at_metrc(store, emulator)
    report_id = failed_sale(store, emulator)
    emulator.world.add_package(store.license_number, metrc_tag(1), 5, "Each")
    response = manager_client.post(f"/manage/compliance/reports/{report_id}/retry")
    assert response.status_code == 303
    wait_for_background()
    db.session.expire_all()
    assert db.session.get(ComplianceReport, report_id).status == "sent"
    assert manager_client.post(f"/manage/compliance/reports/{report_id}/retry").status_code == 409

    other = failed_sale(store, emulator, n=2)
    response = manager_client.post(f"/manage/compliance/reports/{other}/handled", data={"note": ""})
    assert response.status_code == 303
    manager_client.post(f"/manage/compliance/reports/{other}/handled",
                        data={"note": "Entered in Metrc by hand, receipt 991"})  # fmt: skip
    db.session.expire_all()
    row = db.session.get(ComplianceReport, other)
    assert (
        row.status == "sent"
        and row.last_error == "Handled by hand: Entered in Metrc by hand, receipt 991"
    )
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"tracktrace.report_retried", "tracktrace.report_handled"} <= actions


def test_another_stores_report_is_404(manager_client, make_store, emulator):
    other = point_at_metrc(make_store(), emulator)
    report_id = failed_sale(other, emulator)
    assert manager_client.get(f"/manage/compliance/reports/{report_id}").status_code == 404
    assert manager_client.post(f"/manage/compliance/reports/{report_id}/retry").status_code == 404


def test_pause_resume_and_the_banner(manager_client, store, emulator):
    point_at_metrc(store, emulator)
    manager_client.post("/manage/compliance/pause", data={"reason": "rotating the user key"})
    page = manager_client.get("/manage/compliance").get_data(as_text=True)
    assert "Paused by hand: rotating the user key" in page and "Resume reporting" in page
    assert "compliance-banner" in page
    manager_client.post("/manage/compliance/resume")
    db.session.expire_all()
    assert not license_for(store.id).paused


def test_banner_warns_when_the_oldest_report_nears_its_deadline(manager_client, store, emulator):
    point_at_metrc(store, emulator)
    emulator.fail("503", match="POST /sales", times=None)
    package = stock(store, emulator, metrc_tag(3), 5)
    order = complete_sale(store, [(package, 1, 1000)])
    report = queue_report("sale", store, order=order)
    report.deadline_at = clock.now() + timedelta(minutes=30)
    db.session.commit()
    wait_for_background()
    page = manager_client.get("/manage/compliance").get_data(as_text=True)
    assert f"Sale #{order.id} is not reported yet and the state&#39;s deadline is" in page


def test_test_connection_button(manager_client, store, emulator):
    point_at_metrc(store, emulator)
    manager_client.post("/manage/compliance/test")
    page = manager_client.get("/manage/compliance").get_data(as_text=True)
    assert f"Connected to Metrc: {store.name}, license {store.license_number}." in page
    emulator.fail("401", match="GET /facilities")
    manager_client.post("/manage/compliance/test")
    page = manager_client.get("/manage/compliance").get_data(as_text=True)
    assert "Metrc refused the credentials" in page


def test_reconciliation_screen_runs_and_settles(manager_client, store, emulator):
    point_at_metrc(store, emulator)
    package = stock(store, emulator, metrc_tag(4), 5)
    order = complete_sale(store, [(package, 1, 1000)])
    db.session.commit()
    day = order.business_date.isoformat()
    manager_client.post("/manage/compliance/reconcile", data={"date": day})
    wait_for_background()
    page = manager_client.get(f"/manage/compliance/reconcile?date={day}").get_data(as_text=True)
    assert "Missing at the state" in page and "never queued for the state" in page
    item_id = db.session.scalar(select(db.metadata.tables["reconciliation_item"].c.id))
    manager_client.post(f"/manage/compliance/reconcile/items/{item_id}/resend")
    wait_for_background()
    manager_client.post("/manage/compliance/reconcile", data={"date": day})
    wait_for_background()
    page = manager_client.get(f"/manage/compliance/reconcile?date={day}").get_data(as_text=True)
    assert "Missing at the state" not in page
    assert manager_client.get("/manage/compliance/reconcile?date=nope").status_code == 400


def state_reads(emulator) -> list[str]:
    """Return the sales-list requests the state has seen."""
    return [f"{r.method} {r.path}" for r in emulator.world.log if r.path.startswith("/sales")]


def test_reconcile_now_reads_the_state_in_a_job_and_the_page_follows_it(
    app, manager_client, store, emulator, redis_server
):
    app.config["REDIS_URL"] = redis_server
    point_at_metrc(store, emulator)
    package = stock(store, emulator, metrc_tag(5), 5)
    order = complete_sale(store, [(package, 1, 1000)])
    db.session.commit()
    day = order.business_date.isoformat()
    answer = manager_client.post("/manage/compliance/reconcile", data={"date": day})
    assert answer.status_code == 303
    # The request only queued the work: the state was not asked while the manager waited.
    assert state_reads(emulator) == []
    (run_id,) = db.session.scalars(select(ReconciliationRun.id)).all()
    connection = Redis.from_url(redis_server)
    queue = Queue("default", connection=connection)
    assert queue.job_ids == [f"reconcile-{run_id}"]
    page = manager_client.get(f"/manage/compliance/reconcile?date={day}").get_data(as_text=True)
    assert "Reconciling…" in page and 'hx-trigger="every 2s"' in page
    again = manager_client.post("/manage/compliance/reconcile", data={"date": day})
    assert "already running" in manager_client.get(again.headers["Location"]).get_data(as_text=True)
    assert len(db.session.scalars(select(ReconciliationRun.id)).all()) == 1
    db.session.rollback()  # end the test's read: on SQLite it would hold the worker up
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert state_reads(emulator) != []
    fragment = manager_client.get(
        f"/manage/compliance/reconcile?date={day}", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="reconcile-result"')
    assert "hx-trigger" not in fragment and "Missing at the state" in fragment
    assert "<html" not in fragment


def test_a_run_whose_worker_died_says_so_and_another_can_start(manager_client, store, emulator):
    point_at_metrc(store, emulator)
    day = store_today(store) - timedelta(days=1)
    stale = ReconciliationRun(store_id=store.id, business_date=day,
                              started_at=clock.now() - timedelta(minutes=11))  # fmt: skip
    db.session.add(stale)
    db.session.commit()
    page = manager_client.get(f"/manage/compliance/reconcile?date={day}").get_data(as_text=True)
    assert "did not finish" in page and "hx-trigger" not in page
    manager_client.post("/manage/compliance/reconcile", data={"date": day.isoformat()})
    wait_for_background()
    runs = db.session.scalars(select(ReconciliationRun).order_by(ReconciliationRun.id)).all()
    assert len(runs) == 2 and runs[1].finished_at is not None and runs[1].error is None


def test_reconciliation_writes_a_negative_state_total_with_its_sign_first(
    manager_client, store, emulator
):
    point_at_metrc(store, emulator)
    package = stock(store, emulator, metrc_tag(5), 5)
    order = complete_sale(store, [(package, 1, 1000)])
    queue_report("sale", store, order=order)
    db.session.commit()
    wait_for_background()
    # A refund keyed into Metrc's own screens leaves the receipt at -$1.50 (once shown "$-2.50").
    (receipt,) = emulator.world.receipts(store.license_number, external_number=str(order.id))
    receipt["TotalPrice"] = Decimal("-1.50")
    day = order.business_date.isoformat()
    manager_client.post("/manage/compliance/reconcile", data={"date": day})
    wait_for_background()
    page = manager_client.get(f"/manage/compliance/reconcile?date={day}").get_data(as_text=True)
    assert "total $10.00 here, -$1.50 at the state." in page
    assert "$-" not in page


def test_cli_configure_test_status_retry_reconcile_relay(app, store, emulator):
    runner = app.test_cli_runner()
    result = runner.invoke(tracktrace_cli, ["configure", store.license_number, "--system", "metrc",
                                            "--url", emulator.url, "--vendor-key", VENDOR_KEY,
                                            "--user-key", USER_KEY])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert USER_KEY not in result.output and VENDOR_KEY not in result.output
    db.session.expire_all()
    assert store.tracktrace_credentials() == {"vendor_key": VENDOR_KEY, "user_key": USER_KEY}
    emulator.world.add_metrc_facility(store.license_number, vendor_key=VENDOR_KEY,
                                      user_key=USER_KEY, name=store.name)  # fmt: skip
    result = runner.invoke(tracktrace_cli, ["test", store.code])
    assert (
        result.output.strip()
        == f"Connected to Metrc: {store.name}, license {store.license_number}."
    )

    report_id = failed_sale(store, emulator, n=5)
    result = runner.invoke(tracktrace_cli, ["status"])
    assert "running; pending 0, sent 0, recorded 0, needs_attention 1, dead 0" in result.output
    emulator.world.add_package(store.license_number, metrc_tag(5), 5, "Each")
    result = runner.invoke(tracktrace_cli, ["retry", str(report_id)])
    assert result.output.startswith(f"Report #{report_id}: sent.")
    assert runner.invoke(tracktrace_cli, ["retry", str(report_id)]).exit_code != 0
    day = db.session.get(ComplianceReport, report_id).payload["business_date"]
    db.session.rollback()
    result = runner.invoke(tracktrace_cli, ["reconcile", store.code, day])
    assert f"{store.code} {day}: state 1, ours 1, matched 1, differences 0" in result.output
    db.session.rollback()
    assert (
        runner.invoke(tracktrace_cli, ["relay"]).output.strip() == "enqueued 0, drained 0, alive 0"
    )
    result = runner.invoke(tracktrace_cli, ["configure", store.code, "--system", "biotrack"])
    assert (
        result.exit_code != 0 and "BioTrack needs --ubi, --username and --password" in result.output
    )
    result = runner.invoke(tracktrace_cli, ["configure", store.code, "--system", "dryrun"])
    assert "dry run" in result.output


def test_emulator_seeds_from_the_database(app, store, emulator, make_customer, make_user):
    point_at_metrc(store, emulator, register=False)
    stock(store, emulator, metrc_tag(6), 7, at_state=False)
    store.sells_medical = True
    expires = store_today() + timedelta(days=60)
    checked = make_customer(kind="medical", medical_card_number="CO-CHECKED-1",
                            medical_card_state="CO", medical_card_expires=expires)  # fmt: skip
    make_customer(kind="medical", medical_card_number="CO-CLAIMED-2", medical_card_state="CO",
                  medical_card_expires=expires)  # fmt: skip
    check_card_at(store, checked, make_user(store))
    caregiver = make_customer(kind="caregiver", medical_card_number="CO-CG-3",
                              medical_card_state="CO", medical_card_expires=expires,
                              caregiver_for_id=checked.id)  # fmt: skip
    check_card_at(store, caregiver, make_user(store))
    world = World()
    lines = seed_from_database(world)
    assert lines == [
        f"{store.code}: license {store.license_number}, 1 packages",
        "medical registry: 2 checked cards",
    ]
    assert world.facilities[store.license_number].packages[metrc_tag(6)].quantity == 7
    assert world.card("CO-CHECKED-1", "patient").expires == expires
    assert world.card("CO-CG-3", "caregiver").patients == {"COCHECKED1"}
    assert world.card("CO-CLAIMED-2") is None
