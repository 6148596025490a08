"""The outbox row is written in the caller's transaction and its job leaves only after commit."""

import json

import pytest
from redis import Redis
from rq import Queue
from tracktrace_support import FAST, adjust, complete_sale, metrc_tag, stock

from extensions import db
from models.compliance.outbox import ComplianceAttempt, ComplianceReport, queue_report
from support import base_config


@pytest.fixture
def app_config(database_uri):
    config = base_config(database_uri)
    config.update(FAST)
    return config


class NoEmulator:
    """Dry-run stores never talk to a state system; packages only need to exist here."""

    url = "http://127.0.0.1:9"

    class world:  # noqa: N801
        @staticmethod
        def add_package(*args):
            return None


def test_queue_report_writes_the_row_in_the_callers_transaction(app, store):
    package = stock(store, NoEmulator, metrc_tag(1), 5)
    order = complete_sale(store, [(package, 2, 7000)])
    report = queue_report("sale", store, order=order)
    assert report.id is not None and report.key == f"sale:{order.id}"
    assert report.external_number == str(order.id)
    assert report.payload["lines"] == [
        {"line_id": order.lines[0].id, "tag": metrc_tag(1), "name": order.lines[0].name,
         "quantity": 2, "unit": "each", "amount_cents": 7000}
    ]  # fmt: skip
    db.session.rollback()
    assert db.session.query(ComplianceReport).count() == 0


def test_rolled_back_sale_sends_nothing_and_committed_dry_run_records_the_payload(app, store):
    package = stock(store, NoEmulator, metrc_tag(2), 5)
    order = complete_sale(store, [(package, 1, 3500)])
    queue_report("sale", store, order=order)
    db.session.rollback()
    assert db.session.query(ComplianceAttempt).count() == 0

    order = complete_sale(store, [(package, 1, 3500)])
    report_id = queue_report("sale", store, order=order).id
    db.session.commit()
    db.session.expire_all()
    report = db.session.get(ComplianceReport, report_id)
    assert report.status == "sent" and report.attempts == 1
    (attempt,) = report.attempt_log
    assert attempt.outcome == "recorded" and attempt.method == "POST"
    assert attempt.url == f"/sales/v2/receipts?licenseNumber={store.license_number}"
    body = json.loads(attempt.request_body)
    assert body[0]["ExternalReceiptNumber"] == str(order.id)
    assert body[0]["Transactions"][0]["TotalAmount"] == 35.0
    assert '"TotalAmount":35.00' in attempt.request_body


def test_each_kind_gets_its_own_key(app, store):
    package = stock(store, NoEmulator, metrc_tag(3), 10)
    order = complete_sale(store, [(package, 4, 8000)])
    sale = queue_report("sale", store, order=order)
    order.lines[0].returned_quantity = 1
    first_return = queue_report("return", store, order=order)
    order.lines[0].returned_quantity = 3
    second_return = queue_report("return", store, order=order)
    void = queue_report("void", store, order=order)
    movement = adjust(store, package, -1, "Waste")
    adjustment = queue_report("adjustment", store, movement=movement)
    assert [r.key for r in (sale, first_return, second_return, void, adjustment)] == [
        f"sale:{order.id}", f"return:{order.id}:1", f"return:{order.id}:2",
        f"void:{order.id}", f"adjustment:{movement.id}",
    ]  # fmt: skip
    # Each return says what came back this time, and what the sale amounts to now.
    assert [line["quantity"] for line in second_return.payload["returned"]] == [2]
    assert second_return.payload["returned"][0]["amount_cents"] == 4000
    assert [line["quantity"] for line in second_return.payload["lines"]] == [1]
    assert adjustment.payload["delta"] == -1 and adjustment.payload["reason_code"] == "Waste"
    db.session.rollback()


def test_queue_report_refuses_what_it_cannot_report(app, make_store, store):
    with pytest.raises(ValueError, match="needs its order"):
        queue_report("sale", store)
    with pytest.raises(ValueError, match="unknown report kind"):
        queue_report("refund", store)
    other = make_store()
    package = stock(other, NoEmulator, metrc_tag(4), 5)
    order = complete_sale(other, [(package, 1, 100)])
    with pytest.raises(ValueError, match="another store"):
        queue_report("sale", store, order=order)
    db.session.rollback()


def test_with_redis_the_send_job_is_enqueued_after_commit_with_its_id(app, redis_server, store):
    app.config["REDIS_URL"] = redis_server
    reports = Queue("reports", connection=Redis.from_url(redis_server))
    package = stock(store, NoEmulator, metrc_tag(5), 5)
    order = complete_sale(store, [(package, 1, 100)])
    report = queue_report("sale", store, order=order)
    assert reports.count == 0
    db.session.commit()
    assert reports.job_ids == [f"report-{report.id}"]
    order = complete_sale(store, [(package, 1, 100)])
    queue_report("sale", store, order=order)
    db.session.rollback()
    assert reports.job_ids == [f"report-{report.id}"]
