"""Reporting alerts e-mail the store's managers, at most once per alert kind and window (T12)."""

import smtplib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
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
from jobs.cron import tick
from jobs.queues import wait_for_background
from jobs.reconcile import reconcile
from models.base import utcnow
from models.compliance.commands import pause_by_hand
from models.compliance.outbox import ReconciliationItem, ReconciliationRun, queue_report
from models.infra.audit import AuditEvent
from support import base_config
from tracktrace.emulator import Emulator

PAUSED = "tracktrace.license_paused"


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
def mails(app, monkeypatch):
    """Configure SMTP and collect what the outbox hands to it (sending threads included)."""
    sent: list[dict] = []
    lock = threading.Lock()

    class FakeSMTP:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            with lock:
                sent.append(
                    {
                        "to": message["To"],
                        "subject": message["Subject"],
                        "body": message.get_content(),
                        "ref": message["Message-ID"],
                    }
                )

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    app.config["SMTP_URL"] = "smtp://mail.example:25"
    return sent


def sell(store, package, cents=1000):
    """Complete a sale, queue its report, commit (which sends it), and wait for the send."""
    order = complete_sale(store, [(package, 1, cents)])
    report_id = queue_report("sale", store, order=order).id
    db.session.commit()
    wait_for_background()
    return order, report_id


def events(action: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).where(AuditEvent.action == action))


def test_a_paused_license_mails_each_manager_of_that_store_only(
    app, make_store, make_user, emulator, mails, caplog
):
    store = make_store(name="Green Door")
    other = make_store()
    managers = [make_user(store, role="manager"), make_user(store, role="admin")]
    make_user(store, role="budtender")
    make_user(store, role="manager", active=False)
    make_user(other, role="manager")
    point_at_metrc(store, emulator, user_key="expired-key")
    emulator.world.add_metrc_facility(store.license_number, vendor_key="x", user_key="other")
    package = stock(store, emulator, metrc_tag(1), 5)

    sell(store, package)

    assert sorted(mail["to"] for mail in mails) == sorted(user.email for user in managers)
    mail = mails[0]
    assert mail["subject"] == "Pistil · Green Door: reports to Metrc are paused"
    assert "Metrc refused the store's credentials" in mail["body"]
    assert "1 report(s) wait in order" in mail["body"]
    assert "press Resume" in mail["body"] and "/manage/compliance\n" in mail["body"]
    said = " ".join(f"{m['subject']} {m['body']} {m['ref']}" for m in mails) + caplog.text
    for secret in (VENDOR_KEY, "expired-key", USER_KEY, "x-api-key", "Authorization"):
        assert secret not in said
    (mark,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == f"{PAUSED}.mailed"))
    assert mark.store_id == store.id
    assert sorted(mark.details["user_ids"]) == sorted(user.id for user in managers)


def test_the_same_alert_within_30_minutes_is_audited_but_not_mailed_again(
    app, make_store, make_user, mails
):
    store, other = make_store(), make_store()
    manager = make_user(store, role="manager")
    make_user(other, role="manager")

    pause_by_hand(store.id, manager.id, "Rotating the Metrc keys")
    db.session.commit()
    assert len(mails) == 1 and "someone paused reporting by hand" in mails[0]["body"]

    pause_by_hand(store.id, manager.id, "Still rotating")
    db.session.commit()
    assert len(mails) == 1, "no second mail within the window"
    assert events(PAUSED) == 2, "every alert is still audited"

    # Another store's alert is its own: its managers hear of it.
    pause_by_hand(other.id, None, "Rotating the Metrc keys")
    db.session.commit()
    assert len(mails) == 2 and mails[1]["subject"].startswith(f"Pistil · {other.name}:")


def test_an_alert_mails_again_once_the_window_has_passed(app, store, make_user, mails):
    make_user(store, role="manager")
    # The last mail went out 31 minutes ago (the audit trail only ever gets new rows).
    db.session.add(
        AuditEvent(
            action=f"{PAUSED}.mailed", store_id=store.id, at=utcnow() - timedelta(minutes=31)
        )
    )
    db.session.commit()
    pause_by_hand(store.id, None, "Rotating the Metrc keys")
    db.session.commit()
    assert len(mails) == 1


def test_a_rejected_report_mails_its_page_without_the_states_words(
    app, store, make_user, emulator, mails
):
    manager = make_user(store, role="manager")
    point_at_metrc(store, emulator)
    # The package is not on Metrc's books: Metrc refuses the sale.
    package = stock(store, emulator, metrc_tag(2), 5, at_state=False)
    order, report_id = sell(store, package)

    (mail,) = mails
    assert mail["to"] == manager.email
    assert mail["subject"] == f"Pistil · {store.name}: Metrc rejected a report"
    assert f"Metrc rejected report #{report_id}, a sale for order #{order.id}" in mail["body"]
    assert f"/manage/compliance/reports/{report_id}\n" in mail["body"]
    assert "not an active package" not in mail["body"], "the state's answer stays in Pistil"


def test_reconciliation_differences_mail_the_days_page(app, store, make_user, emulator, mails):
    make_user(store, role="manager")
    point_at_metrc(store, emulator)
    package = stock(store, emulator, metrc_tag(3), 5)
    never_queued = complete_sale(store, [(package, 1, 500)])
    db.session.commit()
    day = never_queued.business_date

    reconcile(store, day)

    (mail,) = mails
    assert mail["subject"] == f"Pistil · {store.name}: Metrc's records differ from Pistil's"
    assert f"Reconciliation of {day.isoformat()}: 1 difference(s)" in mail["body"]
    assert f"/manage/compliance/reconcile?date={day.isoformat()}\n" in mail["body"]


def add_run(store, day, found_hours_ago: float, items: dict[str, bool]) -> ReconciliationRun:
    """Record a finished run whose differences (key -> settled?) were found some hours ago."""
    found = utcnow() - timedelta(hours=found_hours_ago)
    run = ReconciliationRun(store_id=store.id, business_date=day, started_at=found,
                            finished_at=found, differences=len(items))  # fmt: skip
    for key, settled in items.items():
        run.items.append(
            ReconciliationItem(
                store_id=store.id,
                business_date=day,
                key=key,
                kind="missing_at_state",
                detail="Not at the state; our report is dead.",
                created_at=found,
                resolved_at=found if settled else None,
                resolution_note="Entered by hand." if settled else None,
            )
        )
    db.session.add(run)
    db.session.commit()
    return run


def test_differences_open_for_over_24_hours_page_the_managers_once(
    app, make_store, make_user, mails
):
    store, calm = make_store(), make_store()
    manager = make_user(store, role="manager")
    make_user(calm, role="manager")
    day = store.business_date() - timedelta(days=2)
    add_run(store, day, 30, {"sale:1": False, "sale:2": False, "sale:3": True})
    # A re-run an hour ago: sale:1 still differs (found 30 h ago), sale:2 now matches.
    add_run(store, day, 1, {"sale:1": False, "sale:3": True, "sale:4": False})
    # The other store's only open difference is young, its old one settled.
    add_run(calm, day, 30, {"sale:5": True})
    add_run(calm, day + timedelta(days=1), 2, {"sale:6": False})

    assert tick()["overdue"] == [store.id]

    (mail,) = mails
    assert mail["to"] == manager.email
    assert mail["subject"] == (
        f"Pistil · {store.name}: reconciliation differences open for more than 24 hours"
    )
    assert mail["body"].startswith(
        "1 reconciliation difference(s) still unsettled more than 24 hours after they were "
        f"found; the oldest is from business day {day.isoformat()}."
    )
    assert f"/manage/compliance/reconcile?date={day.isoformat()}\n" in mail["body"]
    assert "at most one e-mail like this every day" in mail["body"]

    db.session.rollback()  # on SQLite an open transaction would lock the next tick out
    assert tick()["overdue"] == []
    assert len(mails) == 1
    assert events("tracktrace.reconciliation_overdue") == 1, "one page a day, not one a minute"
