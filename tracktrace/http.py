"""HTTP to the state systems: explicit timeouts, exact decimals, sorted failures, no secrets kept.

requests makes no retries of its own here (its default): whether to send again is the report job's
decision, after it has asked the state whether the first try landed.
"""

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode, urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from models.base import utcnow
from tracktrace.base import Exchange, Misdirected, TryLater

log = logging.getLogger("pistil.tracktrace")

DEFAULT_TIMEOUT = (5.0, 30.0)
KEPT_BODY_CHARS = 4000
# The longest error text of a state's that a message quotes.
QUOTED_CHARS = 300
_MARKUP = re.compile(r"<\s*[A-Za-z!/?]")
# Personal numbers and secrets that may appear in a body; masked before a body is kept.
PERSONAL_FIELDS = re.compile(
    r'("(?:PatientLicenseNumber|CaregiverLicenseNumber|PatientCardKey|CardID|CardKey|card_id|'
    r'card_key|Password|password|Session|sessionid)"\s*:\s*)"([^"]*)"'
)


@dataclass(frozen=True)
class Call:
    """A request the adapter means to make, before any credentials are attached."""

    action: str
    method: str
    path: str
    params: dict | None = None
    body: object | None = None
    content_type: str = "application/json"
    # The path as logged and kept, when the real one carries a personal number (a card's).
    shown_path: str | None = None

    def url_for_people(self) -> str:
        """Return the path and query to show and keep (credentials never live in a URL)."""
        query = f"?{urlencode(self.params)}" if self.params else ""
        return f"{self.shown_path or self.path}{query}"

    def body_text(self) -> str | None:
        """Return the exact body text that goes on the wire."""
        return None if self.body is None else encode_json(self.body)


def encode_json(value: object) -> str:
    """Encode JSON with Decimal values written as exact JSON numbers (never through float)."""
    marks: dict[str, str] = {}

    def mark(item):
        if isinstance(item, Decimal):
            token = f"@@dec-{uuid.uuid4().hex}@@"
            marks[token] = format(item, "f")
            return token
        if isinstance(item, dict):
            return {key: mark(val) for key, val in item.items()}
        if isinstance(item, list | tuple):
            return [mark(val) for val in item]
        return item

    text = json.dumps(mark(value), separators=(",", ":"))
    for token, number in marks.items():
        text = text.replace(f'"{token}"', number)
    return text


def mask_personal(text: str | None) -> str | None:
    """Return a body with personal numbers masked down to their last four characters."""
    if text is None:
        return None
    return PERSONAL_FIELDS.sub(lambda m: f'{m.group(1)}"•••{m.group(2)[-4:]}"', text)


def words_for_people(text: str | None) -> str | None:
    """Return an answer's text if it reads as a state's short error words; None for a page.

    A web page, binary noise or a long document is never quoted back to people: only a short
    line of plain words (Metrc's plain-text 401, say) is.
    """
    if not text:
        return None
    flat = " ".join(text.split())
    if not flat or _MARKUP.search(flat) or not flat.isprintable():
        return None
    return flat if len(flat) <= QUOTED_CHARS else flat[: QUOTED_CHARS - 1] + "…"


def retry_after_seconds(value: str | None) -> int | None:
    """Return a Retry-After header (seconds or an HTTP date) as whole seconds to wait."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0, int((when - utcnow()).total_seconds() + 0.999))


def connection_never_made(exc: requests.ConnectionError) -> bool:
    """Return whether the request surely never reached the server (refused, DNS, connect)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    inner = getattr(reason, "reason", reason)
    return isinstance(inner, NewConnectionError | ConnectTimeoutError)


class HttpClient:
    """Send Calls to one base URL, keeping an Exchange for each and sorting transport failures."""

    def __init__(
        self,
        base_url: str,
        *,
        label: str,
        exchanges: list[Exchange],
        auth: tuple[str, str] | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        pace: Callable[[], None] | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.label = label
        self.exchanges = exchanges
        self.timeout = timeout
        self.pace = pace
        self.session = requests.Session()
        self.session.auth = auth
        self.session.trust_env = False

    def send(self, call: Call, *, headers: dict | None = None) -> requests.Response:
        """Make one request; raise TryLater when no answer came back."""
        if self.pace is not None:
            self.pace()
        body = call.body_text()
        exchange = Exchange(
            action=call.action,
            method=call.method,
            url=call.url_for_people(),
            request_body=mask_personal(body),
        )
        self.exchanges.append(exchange)
        all_headers = {"Content-Type": call.content_type, "Accept": "application/json"}
        all_headers.update(headers or {})
        started = time.monotonic()
        exchange.started_at = utcnow()
        try:
            response = self.session.request(
                call.method,
                f"{self.base_url}{call.path}",
                params=call.params,
                data=body.encode() if body is not None else None,
                headers=all_headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.ReadTimeout as exc:
            raise self._failed(exchange, started, self._timeout_message(), landed=True) from exc
        except requests.ConnectionError as exc:
            if connection_never_made(exc):
                host = urlsplit(self.base_url).netloc
                message = f"Could not reach {self.label} at {host}; will retry."
                raise self._failed(exchange, started, message, landed=False) from exc
            message = (
                f"{self.label} dropped the connection before answering; "
                "will check whether it recorded the report before retrying."
            )
            raise self._failed(exchange, started, message, landed=True) from exc
        exchange.duration_ms = int((time.monotonic() - started) * 1000)
        exchange.http_status = response.status_code
        if response.is_redirect or 300 <= response.status_code < 400:
            raise self._redirected(exchange, response)
        exchange.response_body = mask_personal(response.text[:KEPT_BODY_CHARS])
        log.info(
            "%s %s %s -> %s in %d ms",
            self.label,
            call.method,
            call.shown_path or call.path,
            response.status_code,
            exchange.duration_ms,
        )
        return response

    def _redirected(self, exchange: Exchange, response: requests.Response) -> Misdirected:
        """Refuse a redirect: the store's keys go to the address set, never to where it points."""
        host = urlsplit(self.base_url).netloc
        exchange.outcome = "error"
        exchange.message = (
            f"{self.label} at {host} answered with a redirect (HTTP {response.status_code}) "
            "instead of an answer. Redirects are not followed, so nothing was sent elsewhere. "
            "Reporting for this license is paused: check the address in the store's settings, "
            "then resume it."
        )
        log.warning("%s %s %s: redirect not followed", self.label, exchange.method, exchange.url)
        return Misdirected(exchange.message, http_status=response.status_code)

    def _timeout_message(self) -> str:
        return (
            f"{self.label} did not answer within {self.timeout[1]:g} s; "
            "will check whether it recorded the report before retrying."
        )

    def _failed(self, exchange: Exchange, started: float, message: str, *, landed: bool):
        exchange.duration_ms = int((time.monotonic() - started) * 1000)
        exchange.outcome = "no_answer"
        exchange.message = message
        log.warning("%s %s %s: %s", self.label, exchange.method, exchange.url, message)
        return TryLater(message, may_have_landed=landed)
