"""Send the mail outbox: a job per row, claimed so it goes once, retried with backoff.

The job's only argument is the row's id; the address is read from the customer or staff member
when the mail goes out, so neither Redis nor the worker's log ever holds it. The relay (cron,
every minute) re-sends what Redis lost and what is due for another try.
"""

import logging
import os
import random
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from typing import cast
from urllib.parse import unquote, urlsplit

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import CursorResult, func, or_, select, update

from extensions import db
from jobs.context import in_app_context
from jobs.queues import PlannedJob, carries, enqueue_once, redis_connection
from models.compliance.clock import clock
from models.infra.mail import MAIL_STATUSES, OutboxMail, smtp_url
from models.people.customers import Customer
from models.people.users import User

log = logging.getLogger("pistil.mail")
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 60
BACKOFF_CAP_SECONDS = 3600
# Longer than any SMTP exchange (10 s timeout); a killed sender's mail goes again after it.
CLAIM = timedelta(minutes=5)
RELAY_BATCH = 500


def mail_job_id(mail_id: int) -> str:
    """Return the RQ job id of a mail's send job."""
    return f"mail-{mail_id}"


def due(now):
    """Return the condition of a pending mail that may go now."""
    return (
        (OutboxMail.status == "pending")
        & or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= now)
        & or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now)
    )


def claim(mail_id: int) -> bool:
    """Take a due mail for this sender (one try counted); return whether it was ours to take."""
    now = clock.now()
    result = db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id, due(now))
        .values(claimed_until=now + CLAIM, attempts=OutboxMail.attempts + 1)
    )
    db.session.commit()
    # An UPDATE's result is a CursorResult, which the session's signature does not say.
    return cast(CursorResult, result).rowcount == 1


def recipient_address(mail: OutboxMail) -> str | None:
    """Return the address the mail goes to now (it may have changed since it was written)."""
    if mail.customer_id is not None:
        return db.session.scalar(select(Customer.email).where(Customer.id == mail.customer_id))
    return db.session.scalar(
        select(User.email).where(User.id == mail.user_id, User.active.is_(True))
    )


def compose(mail: OutboxMail, address: str, domain: str) -> EmailMessage:
    """Build the message; its Message-ID is fixed per row so a rare second copy reads as one."""
    message = EmailMessage()
    message["From"] = current_app.config.get("MAIL_FROM") or os.environ.get(
        "MAIL_FROM", "Pistil <orders@localhost>"
    )
    message["To"] = address
    message["Subject"] = mail.subject
    message["Message-ID"] = f"<pistil-mail-{mail.id}-{int(mail.created_at.timestamp())}@{domain}>"
    message.set_content(mail.body or "")
    return message


def transmit(url: str, message: EmailMessage) -> None:
    """Hand one message to the SMTP server; raise OSError or SMTPException if it is not taken."""
    parts = urlsplit(url)
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    with smtp_class(parts.hostname or "", parts.port or 0, timeout=10) as server:
        if parts.scheme == "smtp" and "starttls" in (parts.query or ""):
            server.starttls()
        if parts.username:
            server.login(unquote(parts.username), unquote(parts.password or ""))
        server.send_message(message)


def permanent(error: Exception) -> bool:
    """Say whether the server refused the mail for good (a 5xx answer, a refused address)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return True
    code = getattr(error, "smtp_code", None)
    return isinstance(code, int) and 500 <= code < 600


def backoff(attempts: int) -> float:
    """Return the wait after the n-th failed try: doubling, capped, with jitter."""
    delay = min(BACKOFF_CAP_SECONDS, BACKOFF_SECONDS * 2 ** max(0, attempts - 1))
    return delay / 2 + random.uniform(0, delay / 2)


def settle(mail_id: int, status: str, error: str | None = None) -> None:
    """Record how a try ended; a sent or dropped mail's body is wiped."""
    db.session.rollback()
    mail = db.session.get_one(OutboxMail, mail_id)
    now = clock.now()
    mail.claimed_until = None
    mail.last_error = error
    if status == "pending" and mail.attempts >= MAX_ATTEMPTS:
        status = "failed"
    mail.status = status
    if status == "pending":
        wait = backoff(mail.attempts)
        mail.next_attempt_at = now + timedelta(seconds=wait)
        log.warning("mail %s not sent (%s); next try in %d s", mail.ref, error, wait)
    else:
        mail.body_enc = None
        mail.next_attempt_at = None
    if status == "sent":
        mail.sent_at = now
        log.info("mail %s sent", mail.ref)
    elif status == "failed":
        log.warning("mail %s given up after %d tries: %s", mail.ref, mail.attempts, error)
    db.session.commit()


@carries("mail")
def mail_job(mail_id: int) -> PlannedJob:
    """Plan the send job of a mail whose transaction committed."""
    return PlannedJob(send_mail, (mail_id,), mail_job_id(mail_id))


@in_app_context
def send_mail(mail_id: int) -> str:
    """Send one outbox mail if it is due and no other sender has it; return how it ended."""
    if not claim(mail_id):
        return "not_due"
    mail = db.session.get_one(OutboxMail, mail_id)
    ref, subject = mail.ref, mail.subject
    if mail.send_by is not None and mail.send_by <= clock.now():
        settle(mail_id, "skipped", "Not sent in time: what it says no longer holds.")
        return "skipped"
    address = recipient_address(mail)
    url = smtp_url()
    if not address:
        settle(mail_id, "skipped", "The recipient has no e-mail address (or left).")
        return "skipped"
    if url is None:
        # The address and the body stay out of the log: it is kept longer than the mail would be.
        log.info("mail %s (%s) not sent: SMTP is not configured", ref, subject)
        settle(mail_id, "skipped", "SMTP is not configured.")
        return "skipped"
    message = compose(mail, address, urlsplit(url).hostname or "localhost")
    # No transaction stays open while the mail server talks (SQLite would hold every writer).
    db.session.commit()
    try:
        transmit(url, message)
    except (OSError, smtplib.SMTPException) as error:
        # The error's text can quote the address: only its kind is kept.
        settle(mail_id, "failed" if permanent(error) else "pending", type(error).__name__)
        return "retry"
    settle(mail_id, "sent")
    return "sent"


@in_app_context
def relay_mail() -> dict[str, int]:
    """Give every due pending mail a send job (or send it here without Redis); return counts."""
    ids = list(
        db.session.scalars(
            select(OutboxMail.id).where(due(clock.now())).order_by(OutboxMail.id).limit(RELAY_BATCH)
        )
    )
    db.session.rollback()
    counts = {"enqueued": 0, "sent": 0, "alive": 0}
    for mail_id in ids:
        if redis_connection() is None:
            if send_mail(mail_id) == "sent":
                counts["sent"] += 1
        elif enqueue_once("default", send_mail, mail_id, job_id=mail_job_id(mail_id)):
            counts["enqueued"] += 1
        else:
            counts["alive"] += 1
    return counts


mail_cli = AppGroup("mail", help="The e-mail outbox.")


@mail_cli.command("status")
def status_command() -> None:
    """Show how many mails are pending, sent, failed or skipped, and the oldest pending one."""
    counts = dict.fromkeys(MAIL_STATUSES, 0)
    rows = db.session.execute(select(OutboxMail.status, func.count()).group_by(OutboxMail.status))
    counts.update({status: count for status, count in rows})
    click.echo(", ".join(f"{name} {count}" for name, count in counts.items()))
    oldest = db.session.scalars(
        select(OutboxMail).where(OutboxMail.status == "pending").order_by(OutboxMail.id).limit(1)
    ).first()
    if oldest is not None:
        click.echo(
            f"  oldest pending: #{oldest.id} {oldest.ref}, {oldest.attempts} tries"
            + (f", last error {oldest.last_error}" if oldest.last_error else "")
        )


@mail_cli.command("relay")
def relay_command() -> None:
    """Send (or, with Redis, enqueue) every due pending mail now."""
    counts = relay_mail()
    click.echo(", ".join(f"{key} {value}" for key, value in counts.items()))
