"""E-mail is written with what it is about and sent later: never lost, retried, sent once."""

import smtplib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import func, select

from extensions import db
from jobs import mail as mail_jobs
from jobs.mail import MAX_ATTEMPTS, claim, relay_mail, send_mail
from models.base import utcnow
from models.compliance.clock import clock
from models.infra.mail import OutboxMail, send_later


@pytest.fixture
def fake_clock():
    clock.fake, clock.offset = True, timedelta(0)
    yield clock
    clock.fake, clock.offset = False, timedelta(0)


class FakeSMTP:
    """An SMTP server that takes or refuses what it is handed, as the test says."""

    sent: list = []
    failures: list = []

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_message(self, message):
        if FakeSMTP.failures:
            raise FakeSMTP.failures.pop(0)
        FakeSMTP.sent.append(message)


@pytest.fixture
def smtp(app, monkeypatch):
    FakeSMTP.sent, FakeSMTP.failures = [], []
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    app.config["SMTP_URL"] = "smtp://mail.example:25"
    return FakeSMTP


def rows() -> list[SimpleNamespace]:
    """Return the outbox as plain values, ending the read (on SQLite it would block a sender)."""
    db.session.expire_all()
    found = [
        SimpleNamespace(**{c.key: getattr(m, c.key) for c in OutboxMail.__table__.columns})
        for m in db.session.scalars(select(OutboxMail).order_by(OutboxMail.id))
    ]
    db.session.rollback()
    return found


def test_a_mail_is_written_with_its_transaction_and_a_rollback_leaves_none(
    app, make_customer, smtp
):
    customer = make_customer(email="kept@example.com")
    send_later("Hello", "Body", ref="test-rolled-back", customer=customer)
    db.session.rollback()
    assert rows() == [] and smtp.sent == []
    send_later("Hello", "Body text", ref="test-committed", customer=customer)
    db.session.commit()
    (mail,) = rows()
    assert (mail.status, mail.attempts, mail.body_enc) == ("sent", 1, None)
    (message,) = smtp.sent
    assert message["To"] == "kept@example.com" and message.get_content().strip() == "Body text"
    assert message["Message-ID"].startswith(f"<pistil-mail-{mail.id}-")


def test_the_body_is_encrypted_at_rest_and_the_address_is_not_stored(app, make_customer):
    customer = make_customer(email="secret.reader@example.com")
    mail = send_later("Reset", "link: https://x/reset/LIVE-TOKEN", ref="r", customer=customer)
    db.session.flush()
    raw = db.session.execute(select(OutboxMail.__table__).where(OutboxMail.id == mail.id)).one()
    assert b"LIVE-TOKEN" not in raw.body_enc
    assert "secret.reader" not in " ".join(str(value) for value in raw)
    assert mail.body == "link: https://x/reset/LIVE-TOKEN"
    db.session.rollback()


def test_the_job_carries_only_the_mails_id(app, redis_server, make_customer):
    app.config["REDIS_URL"] = redis_server
    customer = make_customer(email="queued@example.com")
    mail = send_later("Queued", "Queued body", ref="test-queued", customer=customer)
    db.session.commit()
    (job,) = Queue("default", connection=Redis.from_url(redis_server)).jobs
    assert job.id == f"mail-{mail.id}" and job.args == (mail.id,) and job.kwargs == {}


def test_a_failed_send_is_retried_with_backoff_and_sent_once(app, make_customer, smtp, fake_clock):
    customer = make_customer(email="retry@example.com")
    smtp.failures.append(ConnectionRefusedError(111, "Connection refused"))
    send_later("Retry", "Retry body", ref="test-retry", customer=customer)
    db.session.commit()
    (mail,) = rows()
    assert (mail.status, mail.attempts, mail.last_error) == ("pending", 1, "ConnectionRefusedError")
    assert mail.next_attempt_at >= clock.now() + timedelta(seconds=30)
    assert relay_mail() == {"enqueued": 0, "sent": 0, "alive": 0}, "not due yet"

    fake_clock.advance(mail_jobs.BACKOFF_SECONDS + 1)
    assert relay_mail()["sent"] == 1
    assert relay_mail()["sent"] == 0
    assert send_mail(mail.id) == "not_due", "a late job for a sent mail sends nothing"
    (mail,) = rows()
    assert (mail.status, mail.attempts, mail.body_enc) == ("sent", 2, None)
    assert len(smtp.sent) == 1


def test_a_mail_that_keeps_failing_is_given_up(app, make_customer, smtp, fake_clock):
    customer = make_customer(email="never@example.com")
    smtp.failures.extend(OSError("down") for _ in range(MAX_ATTEMPTS))
    send_later("Never", "Never body", ref="test-never", customer=customer)
    db.session.commit()
    for _ in range(MAX_ATTEMPTS):
        fake_clock.advance(mail_jobs.BACKOFF_CAP_SECONDS + 1)
        relay_mail()
    (mail,) = rows()
    assert (mail.status, mail.attempts, mail.body_enc) == ("failed", MAX_ATTEMPTS, None)
    assert smtp.sent == []


def test_a_refused_address_is_not_tried_again(app, make_customer, smtp):
    customer = make_customer(email="refused@example.com")
    smtp.failures.append(smtplib.SMTPRecipientsRefused({"refused@example.com": (550, b"No")}))
    send_later("Refused", "Refused body", ref="test-refused", customer=customer)
    db.session.commit()
    (mail,) = rows()
    assert (mail.status, mail.last_error) == ("failed", "SMTPRecipientsRefused")


def test_one_sender_at_a_time_and_a_killed_senders_mail_goes_again(app, make_customer, fake_clock):
    customer = make_customer(email="claimed@example.com")
    mail = send_later("Claimed", "Claimed body", ref="test-claimed", customer=customer)
    mail.status = "pending"
    db.session.flush()
    mail_id = mail.id
    # Written outside a request: no job runs; two senders race for it.
    db.session.info.pop("pistil.after_commit", None)
    db.session.commit()
    assert claim(mail_id) is True
    assert claim(mail_id) is False, "the second sender finds it taken"
    fake_clock.advance(mail_jobs.CLAIM.total_seconds() + 1)
    assert claim(mail_id) is True, "the first sender died: its claim ran out"


def test_a_reset_mail_that_cannot_go_within_the_hour_is_dropped(app, make_customer, smtp):
    customer = make_customer(email="late@example.com")
    send_later("Reset", "a link", ref="test-late", customer=customer, send_by=utcnow())
    db.session.commit()
    (mail,) = rows()
    assert (mail.status, mail.body_enc) == ("skipped", None) and smtp.sent == []


def test_the_address_is_read_when_the_mail_goes_out(app, make_customer, smtp, fake_clock):
    customer = make_customer(email="old@example.com")
    smtp.failures.append(OSError("down"))
    send_later("Moved", "Moved body", ref="test-moved", customer=customer)
    db.session.commit()
    customer.email = "new@example.com"
    db.session.commit()
    fake_clock.advance(mail_jobs.BACKOFF_SECONDS + 1)
    relay_mail()
    assert [m["To"] for m in smtp.sent] == ["new@example.com"]


def test_flask_mail_status_and_relay(app, runner, make_customer, smtp, fake_clock):
    customer = make_customer(email="cli@example.com")
    smtp.failures.append(OSError("down"))
    send_later("CLI", "CLI body", ref="test-cli", customer=customer)
    db.session.commit()
    status = runner.invoke(args=["mail", "status"])
    assert "pending 1" in status.output and "test-cli, 1 tries, last error OSError" in status.output
    db.session.rollback()
    fake_clock.advance(mail_jobs.BACKOFF_SECONDS + 1)
    assert "sent 1" in runner.invoke(args=["mail", "relay"]).output
    assert db.session.scalar(select(func.count()).where(OutboxMail.status == "sent")) == 1
