"""The plain-text mail templates under templates/email/: the facts each states, nothing escaped."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from models.compliance import alerts
from models.infra.mail import render_body

STORE = SimpleNamespace(
    name="Green Door & Co",
    street="12 Main St",
    city="Denver",
    zone=ZoneInfo("America/Denver"),
)
PICKUP_AT = datetime(2026, 3, 6, 18, 30, tzinfo=UTC)  # 11:30 AM in Denver
LINK = "http://localhost/account/orders/42"


def order(**changes):
    """Return an online order as the templates read it: two lines, a pickup window."""
    fields = {
        "id": 42,
        "store": STORE,
        "lines": [
            SimpleNamespace(brand="Acme", name="Blue Dream 3.5 g"),
            SimpleNamespace(brand="Salt & Co", name="Gummies <10 mg>"),
        ],
        "total_cents": 123456,
        "pickup_at": PICKUP_AT,
        "pickup_until": PICKUP_AT + timedelta(minutes=30),
    }
    return SimpleNamespace(**fields | changes)


def assert_clean(body: str) -> None:
    assert "{{" not in body and "{%" not in body and "None" not in body
    assert "&amp;" not in body and "&lt;" not in body, "plain text is not HTML-escaped"
    assert body.endswith("\n") and not body.endswith("\n\n")


def test_order_placed_states_the_order_total_window_place_lines_and_link(app):
    with app.test_request_context():
        body = render_body("order_placed", order=order(), status_link=LINK)
    assert body.startswith("Thank you for your order #42 at Green Door & Co.\n\n")
    assert "Pickup: Friday, March 6, 11:30 AM – 12:00 PM\n" in body
    assert (
        "Where: 12 Main St, Denver\n\n  Acme Blue Dream 3.5 g\n  Salt & Co Gummies <10 mg>\n\n"
        in body
    )
    assert "Total $1,234.56, paid at pickup (cash or debit).\n" in body
    assert body.endswith(f"Follow your order: {LINK}\n")
    assert_clean(body)


def test_order_ready_states_the_order_total_window_and_link(app):
    with app.test_request_context():
        body = render_body("order_ready", order=order(pickup_until=None), status_link=LINK)
    assert body == (
        "Your order #42 is ready for pickup at Green Door & Co, 12 Main St.\n\n"
        "Pickup: Friday, March 6, 11:30 AM – 11:30 AM\n"
        "Total $1,234.56, paid at pickup. Bring a valid government ID.\n\n"
        f"Follow your order: {LINK}\n"
    )
    assert_clean(body)


@pytest.mark.parametrize("name", ["order_placed", "order_ready"])
def test_an_order_without_a_pickup_time_leaves_the_window_blank(app, name):
    with app.test_request_context():
        body = render_body(name, order=order(pickup_at=None, pickup_until=None), status_link=LINK)
    assert "Pickup: \n" in body
    assert_clean(body)


def test_password_reset_carries_the_link(app):
    link = "http://localhost/account/password/reset/TOKEN"
    with app.test_request_context():
        body = render_body("password_reset", link=link)
    assert body == (
        "Someone asked to reset the password of your Pistil account.\n\n"
        f"Choose a new password here within an hour: {link}\n\n"
        "If it was not you, ignore this e-mail; your password stays as it is.\n"
    )
    assert_clean(body)


ALERTS = [
    ("tracktrace.license_paused", None, "Metrc refused the store's credentials"),
    ("tracktrace.needs_attention", 9, "Metrc rejected report #9, a sale for order #42, and"),
    (
        "tracktrace.report_dead",
        9,
        "gave up sending report #9, a sale for order #42 to Metrc after 5",
    ),
    ("tracktrace.reconciliation_differences", None, "1 difference(s). The state's records"),
    ("tracktrace.reconciliation_overdue", None, "1 difference(s).\n\nWhat to do: open the day's"),
    ("tracktrace.something_new", 9, "Pistil raised an alert (tracktrace.something_new) about"),
]


@pytest.mark.parametrize(("action", "report_id", "fact"), ALERTS)
def test_each_manager_alert_says_what_happened_what_to_do_and_where(
    app, monkeypatch, action, report_id, fact
):
    monkeypatch.setattr(
        alerts, "status_counts", lambda store_id: {"pending": 4, "needs_attention": 2}
    )
    store = SimpleNamespace(
        **vars(STORE),
        id=3,
        tracktrace_label="Metrc",
        tracktrace_credentials_enc=b"sealed",
        tracktrace_license=None,
        license_number="402R-1",
    )
    report = (
        SimpleNamespace(id=report_id, kind="sale", order_id=42, attempts=5) if report_id else None
    )
    message = "Reconciliation of 2026-03-05: 1 difference(s)."
    headline, kind, context = alerts.alert_mail(store, action, message, report, user_id=None)
    body = render_body(f"alerts/{kind}", window="30 minutes", **context)
    assert headline and fact in body
    assert "\n\nWhat to do: " in body
    assert f"with Green Door & Co chosen as your store: {context['page']}\n\n" in body
    assert body.endswith(
        "at most one e-mail like this every 30 minutes; the back office shows every alert.\n"
    )
    assert_clean(body)
