"""Password reset for customers: a one-time link by e-mail (shown on the page in development)."""

from flask import current_app, flash, url_for

from blueprints.auth import bp
from blueprints.auth.forms import ForgotPasswordForm, ResetPasswordForm
from blueprints.htmx import form_error_status, redirect_to, render
from blueprints.ratelimits import count_failures, login_key, login_limit
from extensions import db, limiter
from models.base import utcnow
from models.infra.mail import render_body, send_later
from models.people.accounts import (
    RESET_VALID_FOR,
    ResetRefused,
    find_reset,
    request_reset,
    reset_password,
)


def _show_links() -> bool:
    """Say whether reset links may appear on the page (development and tests only)."""
    return current_app.debug or current_app.testing


@bp.route("/account/password/forgot", methods=["GET", "POST"])
@limiter.limit(login_limit, key_func=login_key, methods=["POST"])
def forgot_password():
    """Send a reset link to the account's e-mail; say the same whether or not it exists."""
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        status = form_error_status() if form.is_submitted() else 200
        return render("auth/forgot.html", block="form", status=status, form=form, sent=False)
    found = request_reset(form.email.data)
    link = None
    if found is not None:
        customer, token = found
        link = url_for("auth.reset_password_page", token=token, _external=True)
        # The live link goes only into the mail (encrypted in the outbox until it is sent),
        # never into a log or a job; a mail that cannot go out within the hour is dropped.
        send_later(
            "Reset your Pistil password",
            render_body("password_reset", link=link),
            ref=f"customer-{customer.id}-reset",
            customer=customer,
            send_by=utcnow() + RESET_VALID_FOR,
        )
    db.session.commit()
    return render(
        "auth/forgot.html",
        block="form",
        form=form,
        sent=True,
        dev_link=link if _show_links() else None,
    )


@bp.route("/account/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(login_limit, key_func=login_key, methods=["POST"], deduct_when=count_failures)
def reset_password_page(token: str):
    """Choose a new password through a reset link; every other session of the account ends."""
    form = ResetPasswordForm()
    try:
        find_reset(token)
    except ResetRefused as refusal:
        return render("auth/reset.html", status=410, form=form, token=token, refused=str(refusal))
    if not form.validate_on_submit():
        status = form_error_status() if form.is_submitted() else 200
        return render(
            "auth/reset.html", block="form", status=status, form=form, token=token, refused=None
        )
    reset_password(token, form.password.data)
    db.session.commit()
    flash("Your password is changed. Sign in with the new one.", "success")
    return redirect_to(url_for("auth.customer_login"))
