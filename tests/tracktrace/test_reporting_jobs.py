"""The send job against the emulator: exactly once, in order, paced, and every failure mode."""

import threading
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select
from tracktrace_support import (
    FAST,
    adjust,
    biotrack_tag,
    complete_sale,
    metrc_tag,
    point_at_biotrack,
    point_at_metrc,
    stock,
)

from extensions import db
from jobs.queues import wait_for_background
from jobs.reports import drain_license, send_report
from models.compliance.clock import clock
from models.compliance.commands import pause_by_hand, resume_license, retry_report
from models.compliance.outbox import ComplianceLicense, ComplianceReport, license_for, queue_report
from models.infra.audit import AuditEvent
from support import base_config
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


@pytest.fixture
def fake_clock():
    clock.fake, clock.offset = True, timedelta(0)
    yield clock
    clock.fake, clock.offset = False, timedelta(0)


@pytest.fixture
def metrc_store(store, emulator):
    return point_at_metrc(store, emulator)


def report(report_id: int) -> ComplianceReport:
    db.session.expire_all()
    return db.session.get(ComplianceReport, report_id)


def sell(store, package, quantity=1, cents=1000, *, kind="sale"):
    """Complete a sale, queue its report, commit (which sends it), and wait for the send."""
    order = complete_sale(store, [(package, quantity, cents)])
    report_id = queue_report(kind, store, order=order).id
    db.session.commit()
    wait_for_background()
    return order, report_id


def send_now(report_id: int) -> str:
    """Run the send job now, as a worker would (the test's own transaction ended first)."""
    db.session.rollback()
    return send_report(report_id)


def posts(emulator, path="/sales/v2/receipts"):
    return emulator.world.requests("POST", path)


def test_a_sale_is_reported_once_with_the_states_id(app, metrc_store, emulator):
    package = stock(metrc_store, emulator, metrc_tag(1), 5)
    order, report_id = sell(metrc_store, package, 2, 7000)
    row = report(report_id)
    (receipt,) = emulator.world.receipts(metrc_store.license_number, external_number=str(order.id))
    assert (row.status, row.attempts, row.state_id) == ("sent", 1, str(receipt["Id"]))
    assert not row.in_doubt and row.sent_at is not None
    assert [(a.action, a.http_status, a.outcome) for a in row.attempt_log] == [("send", 200, "ok")]


def test_a_400_needs_attention_after_one_attempt_with_the_states_message(
    app, metrc_store, emulator
):
    # The package is not on Metrc's books: Metrc refuses the sale.
    package = stock(metrc_store, emulator, metrc_tag(2), 5, at_state=False)
    _, report_id = sell(metrc_store, package)
    row = report(report_id)
    assert (row.status, row.attempts, row.last_http_status) == ("needs_attention", 1, 400)
    assert row.last_error == (
        f"Metrc rejected this sale (HTTP 400): row 0: Package {metrc_tag(2)} is not an active "
        "package of this facility."
    )
    assert len(posts(emulator)) == 1
    # Nothing more happens by itself, and the back office hears of it.
    assert send_now(report_id) == "idle" and len(posts(emulator)) == 1
    alert = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "tracktrace.needs_attention")
    )
    assert alert.reason.startswith("Metrc rejected this sale")


def test_401_pauses_the_license_and_resume_sends_the_backlog(app, store, emulator):
    point_at_metrc(store, emulator, user_key="expired-key")
    emulator.world.add_metrc_facility(store.license_number, vendor_key="x", user_key="other")
    package = stock(store, emulator, metrc_tag(3), 5)
    _, first = sell(store, package)
    _, second = sell(store, package)
    lane = license_for(store.id)
    assert lane.paused and "Metrc refused the credentials" in lane.pause_reason
    assert report(first).status == "pending" and report(second).status == "pending"
    assert not report(first).in_doubt
    assert len(posts(emulator)) == 1, "nothing more is sent once the license is paused"
    assert db.session.scalar(
        select(AuditEvent.reason).where(AuditEvent.action == "tracktrace.license_paused")
    ).startswith("Metrc refused the credentials")

    from tracktrace_support import USER_KEY, VENDOR_KEY

    store.set_tracktrace_credentials({"vendor_key": VENDOR_KEY, "user_key": USER_KEY})
    resume_license(store.id, None)
    db.session.commit()
    wait_for_background()
    assert [report(first).status, report(second).status] == ["sent", "sent"]
    assert len(emulator.world.receipts(store.license_number)) == 2


def test_429_with_retry_after_30_sends_nothing_before_30_seconds(
    app, metrc_store, emulator, fake_clock
):
    package = stock(metrc_store, emulator, metrc_tag(4), 5)
    emulator.fail("429", match="POST /sales", retry_after=30)
    _, report_id = sell(metrc_store, package)
    row = report(report_id)
    assert row.status == "pending" and not row.in_doubt
    assert row.last_error.startswith("Metrc asked us to slow down (HTTP 429")
    assert (row.next_attempt_at - fake_clock.now()).total_seconds() >= 29
    for seconds in (5, 10, 14):
        fake_clock.advance(seconds)
        assert send_now(report_id) == "waiting"
    assert len(posts(emulator)) == 1, "nothing was sent before Retry-After ran out"
    fake_clock.advance(2)
    assert send_now(report_id) == "idle"
    assert report(report_id).status == "sent" and len(posts(emulator)) == 2
    assert len(emulator.world.receipts(metrc_store.license_number)) == 1


@pytest.mark.parametrize("mode", ["hang", "drop", "500"])
def test_an_unanswered_try_that_landed_is_found_not_sent_again(
    app, metrc_store, emulator, fake_clock, mode
):
    package = stock(metrc_store, emulator, metrc_tag(5), 5)
    emulator.fail(mode, match="POST /sales", landed=True, hang_seconds=1.5)
    order, report_id = sell(metrc_store, package)
    row = report(report_id)
    assert row.status == "pending" and row.in_doubt and row.attempts == 1
    fake_clock.advance(3600)
    assert send_now(report_id) == "idle"
    row = report(report_id)
    (receipt,) = emulator.world.receipts(metrc_store.license_number, external_number=str(order.id))
    assert (row.status, row.state_id) == ("sent", str(receipt["Id"]))
    assert row.last_error == "The state already had it from an earlier try; not sent again."
    assert len(posts(emulator)) == 1
    assert [a.action for a in row.attempt_log] == ["send", "lookup"]
    assert row.attempt_log[-1].outcome == "found"


@pytest.mark.parametrize("mode", ["hang", "drop", "500"])
def test_an_unanswered_try_that_did_not_land_is_sent_again_once(
    app, metrc_store, emulator, fake_clock, mode
):
    package = stock(metrc_store, emulator, metrc_tag(6), 5)
    emulator.fail(mode, match="POST /sales", landed=False, hang_seconds=1.5)
    order, report_id = sell(metrc_store, package)
    assert report(report_id).in_doubt
    fake_clock.advance(3600)
    send_now(report_id)
    row = report(report_id)
    assert row.status == "sent" and row.attempts == 2
    assert [(a.action, a.outcome) for a in row.attempt_log][1:] == [
        ("lookup", "not_found"),
        ("send", "ok"),
    ]
    assert (
        len(emulator.world.receipts(metrc_store.license_number, external_number=str(order.id))) == 1
    )


def test_a_500_storm_backs_off_without_a_retry_storm_and_drains_after(
    app, metrc_store, emulator, fake_clock
):
    package = stock(metrc_store, emulator, metrc_tag(7), 100)
    storm = emulator.fail("500", match="POST /sales", times=None)
    ids = [sell(metrc_store, package)[1] for _ in range(5)]
    # Two hours of storm with a sender poking every minute (as the relay does).
    for _ in range(120):
        fake_clock.advance(60)
        send_now(ids[0])
    sends = posts(emulator)
    # Backoff doubles from 30 s to its 30 min cap: a handful of tries, not one a minute.
    assert 5 <= len(sends) <= 14
    head = report(ids[0])
    assert head.attempts == len(sends) and all(report(i).attempts == 0 for i in ids[1:])
    # 500s were "may have landed": every retry asked first.
    assert len(emulator.world.requests("GET", "/sales/v2/receipts/external/")) == len(sends) - 1
    emulator.faults.remove(storm)
    fake_clock.advance(1800)
    send_now(ids[0])
    assert [report(i).status for i in ids] == ["sent"] * 5
    numbers = sorted(
        r["ExternalReceiptNumber"] for r in emulator.world.receipts(metrc_store.license_number)
    )
    assert numbers == sorted(report(i).external_number for i in ids), "zero loss, zero doubles"


def test_a_void_is_never_sent_before_its_sale(app, metrc_store, emulator, fake_clock):
    package = stock(metrc_store, emulator, metrc_tag(8), 5)
    emulator.fail("503", match="POST /sales", times=3)
    order, sale_id = sell(metrc_store, package)
    order.status = "voided"
    void_id = queue_report("void", metrc_store, order=order).id
    db.session.commit()
    wait_for_background()
    assert report(void_id).status == "pending"
    assert emulator.world.requests("DELETE") == []
    for _ in range(10):
        fake_clock.advance(1800)
        send_now(void_id)
    assert [report(sale_id).status, report(void_id).status] == ["sent", "sent"]
    writes = [r for r in emulator.world.log if r.method in ("POST", "DELETE") and r.status == 200]
    assert [r.method for r in writes] == ["POST", "DELETE"]
    (receipt,) = emulator.world.receipts(metrc_store.license_number)
    assert receipt["ArchivedDate"] is not None


def test_a_void_of_a_sale_the_state_never_got_needs_attention(app, metrc_store, emulator):
    package = stock(metrc_store, emulator, metrc_tag(9), 5, at_state=False)
    order, sale_id = sell(metrc_store, package)
    assert report(sale_id).status == "needs_attention"
    void_id = queue_report("void", metrc_store, order=order).id
    db.session.commit()
    wait_for_background()
    row = report(void_id)
    assert row.status == "needs_attention" and row.attempts == 0
    assert row.last_error == (
        f"Sale #{order.id} has not reached Metrc (its report is needs attention), so there is "
        "nothing to void there yet. Resolve the sale's report first, then retry this one."
    )


def test_returns_and_adjustments_reach_metrc(app, metrc_store, emulator):
    package = stock(metrc_store, emulator, metrc_tag(10), 10)
    order, sale_id = sell(metrc_store, package, 4, 4000)
    order.lines[0].returned_quantity = 1
    return_id = queue_report("return", metrc_store, order=order).id
    movement = adjust(metrc_store, package, -2, "Waste")
    adjustment_id = queue_report("adjustment", metrc_store, movement=movement).id
    db.session.commit()
    wait_for_background()
    assert [report(i).status for i in (sale_id, return_id, adjustment_id)] == ["sent"] * 3
    (receipt,) = emulator.world.receipts(metrc_store.license_number)
    assert receipt["Transactions"][0]["QuantitySold"] == 3
    assert (
        emulator.world.facilities[metrc_store.license_number].packages[metrc_tag(10)].quantity == 5
    )


def test_an_adjustment_in_doubt_is_checked_by_the_packages_quantity(
    app, metrc_store, emulator, fake_clock
):
    package = stock(metrc_store, emulator, metrc_tag(11), 10)
    emulator.fail("drop", match="POST /packages/v2/adjust", landed=True)
    movement = adjust(metrc_store, package, -3, "Waste")
    report_id = queue_report("adjustment", metrc_store, movement=movement).id
    db.session.commit()
    wait_for_background()
    assert report(report_id).in_doubt and report(report_id).progress == {"quantity_before": "10"}
    fake_clock.advance(3600)
    send_now(report_id)
    assert report(report_id).status == "sent"
    assert len(posts(emulator, "/packages/v2/adjust")) == 1
    assert (
        emulator.world.facilities[metrc_store.license_number].packages[metrc_tag(11)].quantity == 7
    )


def test_biotrack_legacy_uses_the_nonce_to_avoid_a_double_dispense(
    app, store, emulator, fake_clock
):
    point_at_biotrack(store, emulator, api="legacy")
    package = stock(store, emulator, biotrack_tag(1), 5)
    from tracktrace.adapters import adapter_for

    # Log in first, so the hang below hits the sale and not the login.
    adapter_for(store).test_connection()
    emulator.fail("hang", match="POST /serverjson.asp", landed=True, hang_seconds=1.5)
    order, report_id = sell(store, package)
    assert report(report_id).in_doubt
    fake_clock.advance(3600)
    send_now(report_id)
    row = report(report_id)
    assert row.status == "sent"
    assert [a.outcome for a in row.attempt_log][-1] == "ok"
    assert len({r["transactionid"] for r in emulator.world.sales(store.license_number)}) == 1


def test_biotrack_v3_sale_in_doubt_is_found_in_the_days_sales(app, store, emulator, fake_clock):
    store.state = "NM"
    point_at_biotrack(store, emulator, api="v3")
    package = stock(store, emulator, biotrack_tag(2), 5)
    from tracktrace.adapters import adapter_for

    adapter_for(store).test_connection()
    emulator.fail("drop", match="POST /v1/dispense", landed=True)
    order, report_id = sell(store, package)
    fake_clock.advance(3600)
    send_now(report_id)
    assert report(report_id).status == "sent"
    assert len(emulator.world.sales(store.license_number, external_number=str(order.id))) == 1


def test_the_request_budget_per_license_is_kept(app, metrc_store, emulator, monkeypatch):
    app.config["TRACKTRACE_RATE_PER_LICENSE"] = 5.0
    # Spacing is measured where requests leave Pistil: arrival times at the emulator also carry
    # the host's scheduling jitter, which a busy CI machine makes larger than the margin.
    sent = []
    request = requests.Session.request

    def recording(self, *args, **kwargs):
        sent.append(time.monotonic())
        return request(self, *args, **kwargs)

    package = stock(metrc_store, emulator, metrc_tag(12), 50)
    emulator.fail("503", match="POST /sales", times=1)
    orders = [complete_sale(metrc_store, [(package, 1, 100)]) for _ in range(8)]
    ids = []
    for order in orders:
        ids.append(queue_report("sale", metrc_store, order=order).id)
    db.session.commit()
    wait_for_background()
    clock.offset = timedelta(0)
    db.session.execute(ComplianceReport.__table__.update().values(next_attempt_at=None))
    db.session.commit()
    db.session.rollback()
    monkeypatch.setattr(requests.Session, "request", recording)
    drain_license(metrc_store.id)
    starts = [r.started for r in emulator.world.log if r.license == metrc_store.license_number]
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert len(starts) >= 9 and len(sent) >= 9 and min(gaps) >= 0.195, gaps
    assert [report(i).status for i in ids] == ["sent"] * 8


def test_two_senders_on_one_license_never_send_at_once(app, metrc_store, emulator):
    package = stock(metrc_store, emulator, metrc_tag(13), 50)
    # A slow state: every answer takes 0.1 s (within the client's timeout).
    emulator.fail("hang", match="POST /sales", landed=True, hang_seconds=0.1, times=None)
    app.config["REDIS_URL"] = None
    ids = []
    for _ in range(10):
        order = complete_sale(metrc_store, [(package, 1, 100)])
        ids.append(queue_report("sale", metrc_store, order=order).id)
    db.session.commit()
    wait_for_background()
    db.session.execute(
        ComplianceReport.__table__.update().values(status="pending", next_attempt_at=None)
    )
    db.session.commit()
    license_number, store_id = metrc_store.license_number, metrc_store.id
    db.session.rollback()
    emulator.world.max_in_flight.clear()
    emulator.world.facilities[license_number].receipts.clear()

    results = []

    def sender():
        with app.app_context():
            results.append(drain_license(store_id))
            db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert emulator.world.max_in_flight[license_number] == 1
    assert len(results) == 4 and "idle" in results
    assert [report(i).status for i in ids] == ["sent"] * 10
    assert len(emulator.world.receipts(metrc_store.license_number)) == 10


def test_reports_are_given_up_a_day_after_the_deadline(app, metrc_store, emulator, fake_clock):
    package = stock(metrc_store, emulator, metrc_tag(14), 5)
    emulator.fail("503", match="POST /sales", times=None)
    _, report_id = sell(metrc_store, package)
    deadline = report(report_id).deadline_at
    fake_clock.offset = deadline - clock.now() + clock.offset + timedelta(hours=25)
    send_now(report_id)
    row = report(report_id)
    assert row.status == "dead"
    assert row.last_error.startswith(
        "Gave up after 1 tries: the state's deadline passed more than 24 h ago."
    )


def test_a_retry_by_a_person_asks_the_state_first(app, metrc_store, emulator):
    package = stock(metrc_store, emulator, metrc_tag(15), 5, at_state=False)
    order, report_id = sell(metrc_store, package)
    assert report(report_id).status == "needs_attention"
    emulator.world.add_package(metrc_store.license_number, metrc_tag(15), 5, "Each")
    retry_report(report(report_id), None, reason="package added at Metrc")
    db.session.commit()
    wait_for_background()
    row = report(report_id)
    assert row.status == "sent" and [a.action for a in row.attempt_log] == [
        "send",
        "lookup",
        "send",
    ]


def test_a_paused_license_sends_nothing(app, metrc_store, emulator):
    pause_by_hand(metrc_store.id, None, "key rotation")
    db.session.commit()
    package = stock(metrc_store, emulator, metrc_tag(16), 5)
    _, report_id = sell(metrc_store, package)
    assert report(report_id).status == "pending" and posts(emulator) == []
    lane = db.session.scalar(
        select(ComplianceLicense).where(ComplianceLicense.store_id == metrc_store.id)
    )
    assert lane.pause_reason == "Paused by hand: key rotation"


def test_the_register_never_waits_on_a_hanging_state(app, metrc_store, emulator):
    app.config["TRACKTRACE_READ_TIMEOUT"] = 3.0
    package = stock(metrc_store, emulator, metrc_tag(17), 50)

    def commit_a_sale() -> float:
        order = complete_sale(metrc_store, [(package, 1, 100)])
        queue_report("sale", metrc_store, order=order)
        started = time.monotonic()
        db.session.commit()
        return time.monotonic() - started

    up = min(commit_a_sale() for _ in range(3))
    wait_for_background()
    emulator.fail("hang", match="POST /sales", hang_seconds=5, times=None)
    hanging = max(commit_a_sale() for _ in range(3))
    # The state hangs 5 s and the client waits 3 s for it: a sale that waited would show it.
    assert hanging < up + 0.5, (up, hanging)
    emulator.clear_faults()
    emulator.stopping.set()
    wait_for_background()


def test_a_store_without_credentials_is_paused_not_failed(app, store, emulator):
    store.tracktrace_dry_run = False
    store.tracktrace_base_url = emulator.url
    db.session.commit()
    package = stock(store, emulator, metrc_tag(18), 5, at_state=False)
    _, report_id = sell(store, package)
    assert report(report_id).status == "pending"
    lane = license_for(store.id)
    assert lane.paused
    assert lane.pause_reason == (
        f"{store.name} has no Metrc credentials. Reporting for this license is paused: enter them "
        "in the back office's Settings (or with `flask tracktrace configure`), then resume it."
    )


def test_session_tokens_and_card_keys_are_not_kept(app, store, emulator):
    store.state = "NM"
    point_at_biotrack(store, emulator, api="v3")
    package = stock(store, emulator, biotrack_tag(3), 5)
    _, report_id = sell(store, package)
    row = report(report_id)
    assert row.status == "sent"
    tokens = list(emulator.world.sessions)
    kept = " ".join(f"{a.request_body} {a.response_body}" for a in row.attempt_log)
    assert tokens and not any(token in kept for token in tokens)
    assert '"Session":"•••' in kept and "bt-password-test" not in kept


def test_worker_warm_up_touches_nothing(app, metrc_store, emulator):
    from jobs.reports import warm_up

    package = stock(metrc_store, emulator, metrc_tag(19), 5)
    _, report_id = sell(metrc_store, package)
    before = (report(report_id).attempts, license_for(metrc_store.id).last_request_at)
    db.session.rollback()
    warm_up()
    assert (report(report_id).attempts, license_for(metrc_store.id).last_request_at) == before
