"""Keys and rules for throttling sign-in, PIN and manager-approval attempts."""

from flask import current_app, g, request
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address

from extensions import limiter


def login_key() -> str:
    """Throttle per client address and account, so one attacker cannot lock everyone out."""
    email = (request.form.get("email") or "").strip().lower()
    return f"login:{get_remote_address()}:{email}"


def normalized_id(value: str | None) -> str:
    """Return an id as the number it names, so "03", "3" and "３" count as one account."""
    text = (value or "").strip()
    return str(int(text)) if text.isdecimal() and len(text) <= 40 else text


def pin_key() -> str:
    """Throttle PIN entry per tablet address and the budtender being switched to."""
    return f"pin:{get_remote_address()}:{normalized_id(request.form.get('user_id'))}"


def login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def pin_limit() -> str:
    return current_app.config["PIN_RATE_LIMIT"]


def count_failures(response) -> bool:
    """Count only refused attempts: a busy tablet's good PINs must not trip the limit."""
    return response.status_code >= 400


def _approval_key() -> str:
    return f"approval:{get_remote_address()}:{g.approval_manager_id}"


def _approval_failed(response) -> bool:
    return g.get("approval_failed", False)


# One counter per tablet and manager for every view that asks for an approval (discounts,
# voids, returns, drawer counts); like PIN switching it counts only wrong PINs.
_approval = limiter.shared_limit(
    pin_limit, scope="approval", key_func=_approval_key, deduct_when=_approval_failed
)


def approval_allowed(manager_id: int) -> bool:
    """Say whether this tablet may try another PIN for this manager now."""
    g.approval_manager_id = manager_id
    try:
        with _approval:
            return True
    except RateLimitExceeded:
        return False


def count_approval_failure() -> None:
    """Count this request's wrong approval PIN against the tablet and manager."""
    g.approval_failed = True
