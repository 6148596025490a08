"""E-mail to customers and staff: written to an outbox with the data it is about, sent later.

A mail is a row in the same transaction as the order, reset or alert it belongs to, so it is
never lost when Redis or the mail server is down. Its body is encrypted (it can hold a live
password reset link) and wiped once sent; the address is read from the customer or staff
member when it goes out, so no job, log or queue ever holds it.
"""

import logging
import os
from datetime import datetime

from flask import current_app
from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import utcnow
from models.infra.after_commit import after_commit
from models.infra.crypto import cipher
from models.model import Model

log = logging.getLogger("pistil.mail")
MAIL_STATUSES = ("pending", "sent", "failed", "skipped")
_BODY_CONTEXT = b"outbox_mail.body"


class OutboxMail(Model):
    """An e-mail owed to a customer or a staff member, and what became of it."""

    __tablename__ = "outbox_mail"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'skipped')", name="status"),
        CheckConstraint("(customer_id IS NULL) <> (user_id IS NULL)", name="one_recipient"),
        # The relay reads the due pending mails in order.
        Index("ix_outbox_mail_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Names the mail in logs without saying who it is for, e.g. "order-12-placed".
    ref: Mapped[str] = mapped_column(String(120))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(200))
    body_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    # A sender owns the mail until then; a killed sender's claim runs out.
    claimed_until: Mapped[datetime | None]
    # A mail that cannot go out by then (a reset link's expiry) is dropped, not sent late.
    send_by: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    @property
    def body(self) -> str | None:
        """Return the message text, or None once it was sent or dropped."""
        if self.body_enc is None:
            return None
        return cipher().decrypt(self.body_enc, _BODY_CONTEXT)

    @body.setter
    def body(self, text: str | None) -> None:
        self.body_enc = None if text is None else cipher().encrypt(text, _BODY_CONTEXT)


def smtp_url() -> str | None:
    """Return the SMTP server URL (smtp://user:pass@host:587, smtps://...), or None."""
    return current_app.config.get("SMTP_URL") or os.environ.get("SMTP_URL") or None


def mail_configured() -> bool:
    """Say whether e-mail really leaves the building."""
    return smtp_url() is not None


def render_body(name: str, **context) -> str:
    """Render the plain-text body templates/email/<name>.txt holds, ending in a newline."""
    # The app's own Jinja environment (its filters, url_for) but not render_template: the pages'
    # context processors read the request and the signed-in staff, and alerts are written by jobs.
    # Flask autoescapes only .html/.xml/.svg templates, so a "&" in a store's name stays "&";
    # Jinja drops a template file's last newline, and a mail's body ends with one.
    template = current_app.jinja_env.get_template(f"email/{name}.txt")
    return template.render(**context) + "\n"


def send_later(
    subject: str,
    body: str,
    *,
    ref: str,
    customer=None,
    user=None,
    send_by: datetime | None = None,
) -> OutboxMail | None:
    """Write a mail for a customer or a staff member into this transaction; sent after commit."""
    recipient = customer if customer is not None else user
    if recipient is None or not recipient.email:
        log.info("mail %s not written: no e-mail address", ref)
        return None
    mail = OutboxMail(
        ref=ref[:120],
        customer_id=customer.id if customer is not None else None,
        user_id=user.id if customer is None else None,
        subject=subject[:200],
        status="pending",
        attempts=0,
        send_by=send_by,
    )
    mail.body = body
    db.session.add(mail)
    db.session.flush()
    # The job carries the row's id and nothing else.
    after_commit("mail", mail.id)
    return mail
