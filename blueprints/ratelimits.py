"""Keys and rules for throttling sign-in and PIN attempts."""

from flask import current_app, request
from flask_limiter.util import get_remote_address


def login_key() -> str:
    """Throttle per client address and account, so one attacker cannot lock everyone out."""
    email = (request.form.get("email") or "").strip().lower()
    return f"login:{get_remote_address()}:{email}"


def pin_key() -> str:
    """Throttle PIN entry per tablet address and the budtender being switched to."""
    return f"pin:{get_remote_address()}:{request.form.get('user_id', '')}"


def login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def pin_limit() -> str:
    return current_app.config["PIN_RATE_LIMIT"]


def count_failures(response) -> bool:
    """Count only refused attempts: a busy tablet's good PINs must not trip the limit."""
    return response.status_code >= 400
