"""E-mail to customers: sent through SMTP when configured, else only logged (no personal data)."""

import logging
import os
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app

from jobs.context import in_app_context
from jobs.queues import enqueue_after_commit

log = logging.getLogger("pistil.mail")


def smtp_url() -> str | None:
    """Return the SMTP server URL (smtp://user:pass@host:587, smtps://...), or None."""
    return current_app.config.get("SMTP_URL") or os.environ.get("SMTP_URL") or None


def mail_configured() -> bool:
    """Say whether e-mail really leaves the building."""
    return smtp_url() is not None


def send_later(to: str | None, subject: str, body: str, *, ref: str) -> None:
    """Send an e-mail after the transaction commits; `ref` names it in logs, e.g. order-12."""
    if not to:
        log.info("mail %s not sent: the customer has no e-mail address", ref)
        return
    enqueue_after_commit(deliver, to, subject, body, ref)


@in_app_context
def deliver(to: str, subject: str, body: str, ref: str) -> bool:
    """Hand one e-mail to the SMTP server, or log that none is configured; never raise."""
    url = smtp_url()
    if url is None:
        # The address and body stay out of the log: it is kept longer than the mail would be.
        log.info("mail %s (%s) not sent: SMTP is not configured", ref, subject)
        return False
    parts = urlsplit(url)
    message = EmailMessage()
    message["From"] = current_app.config.get("MAIL_FROM") or os.environ.get(
        "MAIL_FROM", "Pistil <orders@localhost>"
    )
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
        with smtp_class(parts.hostname, parts.port or 0, timeout=10) as server:
            if parts.scheme == "smtp" and "starttls" in (parts.query or ""):
                server.starttls()
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
            server.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        log.warning("mail %s not sent: %s", ref, type(error).__name__)
        return False
    log.info("mail %s sent", ref)
    return True
