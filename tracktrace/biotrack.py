"""BioTrack: New Mexico's V3 REST API, and the legacy serverjson.asp RPC used by other states.

Marked [I] in the reference (and so here): V3's void, refund, sales list and inventory list come
from the newer REST surface seen in OpenTHC's mock, and legacy `item_number` carrying our number.
The card lookups are [V] for V3's request and answer (OpenTHC's mock: CardActive, CardExpiration,
CardKey) and [I] for what an unknown card gets (taken as 404) and for the legacy `card_lookup`
answer (`active`, `expiration_date`). Confirm them against the state's sandbox before relying on
them.
"""

import json
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import requests

from models.infra.crypto import normalize_identifier
from tracktrace.base import (
    Adapter,
    CardAnswer,
    CardNotFound,
    Confirmation,
    NotSupported,
    Rejected,
    Sent,
    StatePackage,
    StateReceipt,
    TryLater,
    Unauthorized,
)
from tracktrace.http import (
    DEFAULT_TIMEOUT,
    Call,
    HttpClient,
    retry_after_seconds,
    words_for_people,
)
from tracktrace.metrc import cents, dollars, quantity, state_quantity_to_ours

# OpenTHC caches V3 sessions for an hour although they last about a week.
SESSION_SECONDS = 3600
SESSION_EXPIRED = re.compile(r"session.+expired", re.IGNORECASE)
LEAKED_HEADER = re.compile(r"^\s*Content-Type:[^\n]*\n", re.IGNORECASE)

_sessions: dict[tuple, tuple[str, float]] = {}
_sessions_lock = threading.Lock()


NOT_BIOTRACKS = "an answer that is not BioTrack's error text (not shown)"


def cached_session(key: tuple) -> str | None:
    """Return a session token this process got recently for these credentials."""
    with _sessions_lock:
        token, expires = _sessions.get(key, (None, 0.0))
    return token if token and expires > time.monotonic() else None


def remember_session(key: tuple, token: str | None) -> None:
    """Keep a session token for reuse, or forget it when None."""
    with _sessions_lock:
        if token is None:
            _sessions.pop(key, None)
        else:
            _sessions[key] = (token, time.monotonic() + SESSION_SECONDS)


def rfc3339(utc_iso: str, zone: ZoneInfo) -> str:
    """Return a local time with a colon in the offset (Go's RFC 3339 rejects -0600)."""
    return datetime.fromisoformat(utc_iso).astimezone(zone).isoformat(timespec="seconds")


def _card_date(value) -> date | None:
    """Return a card's expiry from {"Year", "Month", "Day"} or "YYYY-MM-DD", or None."""
    try:
        if isinstance(value, dict):
            return date(int(value["Year"]), int(value["Month"]), int(value["Day"]))
        if isinstance(value, str) and value:
            return date.fromisoformat(value[:10])
    except (KeyError, TypeError, ValueError):
        return None
    return None


def card_refusal(active: bool, expires: date | None, today: date) -> str | None:
    """Say in words why BioTrack does not accept a card (None for an active one)."""
    if active:
        return None
    if expires is not None and expires < today:
        return f"BioTrack says this card is not active (it expired on {expires:%b %-d, %Y})."
    return "BioTrack says this card is not active."


NO_SUCH_CARD = "BioTrack has no patient card with this number."


def sale_type(fact: dict) -> str:
    return "RECREATIONAL" if fact.get("customer_type", "consumer") == "consumer" else "MEDICAL"


def tagged_lines(fact: dict, lines_key: str = "lines") -> list[dict]:
    """Return a fact's lines, refusing any without a package barcode."""
    for line in fact[lines_key]:
        if not line.get("tag"):
            raise Rejected(
                f"Line “{line.get('name', '?')}” has no package barcode; BioTrack needs the "
                "package of every line. Fix the sale's lines, then retry."
            )
    return fact[lines_key]


class BioTrackV3Adapter(Adapter):
    """BioTrack Traceability API V3 (New Mexico): Bearer session, v1/dispense."""

    system = "biotrack"

    def __init__(
        self,
        *,
        base_url: str,
        license_number: str,
        ubi: str,
        username: str,
        password: str,
        zone: ZoneInfo,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        pace: Callable[[], None] | None = None,
    ):
        super().__init__()
        self.license_number = license_number
        self.zone = zone
        self._login_body = {"UBI": ubi, "Username": username, "Password": password}
        self._session_key = (base_url, ubi, username)
        self.http = HttpClient(
            base_url, label="BioTrack", exchanges=self.exchanges, timeout=timeout, pace=pace
        )

    def login(self) -> str:
        token = cached_session(self._session_key)
        if token:
            return token
        response = self.http.send(Call("login", "POST", "/v1/login", body=self._login_body))
        exchange = self.http.exchanges[-1]
        if response.status_code != 200:
            self.raise_for(response, "login")
        exchange.outcome = "ok"
        token = response.json(parse_float=Decimal)["Session"]
        remember_session(self._session_key, token)
        return token

    def raise_for(self, response: requests.Response, what: str):
        exchange = self.http.exchanges[-1]
        exchange.outcome = "error"
        status = response.status_code
        try:
            answer = response.json(parse_float=Decimal)
        except ValueError:
            answer = None
        error = answer.get("Error") if isinstance(answer, dict) else None
        message = words_for_people(str(error) if error else response.text) or (
            f"HTTP {status}" if not response.text.strip() else NOT_BIOTRACKS
        )
        if status in (401, 403):
            text = (
                f"BioTrack refused the credentials for license {self.license_number} "
                f"(HTTP {status}: {message}). Reporting for this license is paused: enter a "
                "valid username and password in the store's settings, then resume it."
            )
            exchange.message = text
            raise Unauthorized(text, http_status=status)
        if status == 429:
            text = f"BioTrack asked us to slow down (HTTP 429: {message})."
            exchange.message = text
            raise TryLater(
                text,
                http_status=status,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            text = f"BioTrack had a server error (HTTP {status}: {message}); will check and retry."
            exchange.message = text
            raise TryLater(text, http_status=status, may_have_landed=True)
        text = f"BioTrack rejected this {what} (HTTP {status}): {message}"
        exchange.message = text
        raise Rejected(text, http_status=status)

    def call(self, call: Call, what: str, accept: tuple = ()) -> requests.Response:
        """Send with the session; log in again once if the session ran out."""
        for attempt in (1, 2):
            token = self.login()
            response = self.http.send(call, headers={"Authorization": f"Bearer {token}"})
            if response.status_code == 401 and attempt == 1:
                # An expired session is refused before anything is processed: safe to repeat.
                self.http.exchanges[-1].outcome = "session_expired"
                remember_session(self._session_key, None)
                continue
            if 200 <= response.status_code < 300 or response.status_code in accept:
                self.http.exchanges[-1].outcome = "ok"
                return response
            self.raise_for(response, what)
        raise AssertionError("unreachable")

    def items(self, lines: list[dict]) -> list[dict]:
        return [
            {
                "Barcode": line["tag"],
                "Quantity": quantity(line["quantity"], line["unit"]),
                "Price": dollars(line["amount_cents"]),
            }
            for line in lines
        ]

    def plan_sale(self, fact: dict, external_number: str, request_id: str) -> Call:
        body = {
            "LocationLicense": self.license_number,
            "Type": sale_type(fact),
            "TerminalID": "pistil",
            "Datetime": rfc3339(fact["sold_at"], self.zone),
            "ExternalID": external_number,
            "RequestID": request_id,
            "Items": self.items(tagged_lines(fact)),
        }
        if sale_type(fact) == "MEDICAL":
            body["PatientCardKey"] = fact.get("patient_card_key")
        return Call("send", "POST", "/v1/dispense", body=body)

    def plan_void(self, sale_state_id: str, request_id: str) -> Call:
        body = {"LocationLicense": self.license_number, "RequestID": request_id}
        return Call("send", "PUT", f"/v1/sale/{sale_state_id}/void", body=body)

    def plan_return(self, fact: dict, sale_state_id: str, request_id: str) -> Call:
        body = {
            "LocationLicense": self.license_number,
            "RequestID": request_id,
            "Items": self.items(tagged_lines(fact, "returned")),
        }
        return Call("send", "POST", f"/v1/sale/{sale_state_id}/refund", body=body)

    def plan_adjustment(self, fact: dict) -> Call:
        raise NotSupported(
            "BioTrack's New Mexico API has no adjustment call Pistil can use. Record this "
            "adjustment in BioTrack by hand, then mark the report handled."
        )

    def plan_card_lookup(self, fact: dict) -> Call:
        """Plan the lookup of the card a medical sale is dispensed against: the patient's."""
        # A caregiver's sale too: it counts against the patient's allotment, so BioTrack is
        # asked for the patient's card, never the caregiver's.
        return self._lookup_call(fact.get("patient_license") or "")

    def _lookup_call(self, card_number: str) -> Call:
        body = {"CardID": normalize_identifier(card_number), "LocationLicense": self.license_number}
        return Call("card", "POST", "/v1/patient/lookup", body=body)

    def card_key(self, fact: dict) -> dict:
        """Add the patient's card key (from a card lookup) to a medical sale."""
        if sale_type(fact) != "MEDICAL" or fact.get("patient_card_key"):
            return fact
        if not fact.get("patient_license"):
            raise Rejected(
                "This medical sale has no patient card on file, so BioTrack cannot be told "
                "whose allotment it counts against. Record the patient's card, then retry."
            )
        try:
            answer = self.card_status(fact["patient_license"])
        except CardNotFound:
            raise Rejected(
                "BioTrack has no record of the patient's medical card. Check the card with "
                "the patient, then retry.",
                http_status=404,
            ) from None
        if not answer.active or not answer.card_key:
            raise Rejected(
                "BioTrack says the patient's medical card is not active. Check the card with "
                "the patient, then retry."
            )
        return {**fact, "patient_card_key": answer.card_key}

    def report_sale(self, fact, *, external_number, request_id) -> Sent:
        call = self.plan_sale(self.card_key(fact), external_number, request_id)
        body = self.call(call, "sale").json(parse_float=Decimal)
        return Sent(str(body["TransactionID"]))

    def void_sale(self, fact, *, sale_state_id, request_id) -> Sent:
        self.call(self.plan_void(sale_state_id, request_id), "void")
        return Sent(sale_state_id)

    def report_return(self, fact, *, sale_state_id, request_id) -> Sent:
        body = self.call(self.plan_return(fact, sale_state_id, request_id), "refund").json(
            parse_float=Decimal
        )
        return Sent(str(body.get("TransactionID") or sale_state_id))

    def report_adjustment(self, fact, *, request_id) -> Sent:
        self.plan_adjustment(fact)
        raise AssertionError("unreachable")

    def receipt_from(self, sale: dict) -> StateReceipt:
        items = sale.get("Items") or []
        return StateReceipt(
            state_id=str(sale["TransactionID"]),
            external_number=sale.get("ExternalID"),
            line_count=len(items),
            total_cents=sum(cents(item["Price"]) for item in items),
            voided=bool(sale.get("Voided")),
            sold_at=sale.get("Datetime"),
            lines=tuple((item["Barcode"], str(item["Quantity"])) for item in items),
        )

    def receipts_for_day(self, day) -> list[StateReceipt]:
        params = {
            "LocationLicense": self.license_number,
            "StartDate": day.isoformat(),
            "EndDate": day.isoformat(),
        }
        body = self.call(Call("list", "GET", "/v1/sale", params), "sales list").json(
            parse_float=Decimal
        )
        return [self.receipt_from(sale) for sale in body.get("Sale", [])]

    def find_receipt(self, external_number, *, fact=None) -> StateReceipt | None:
        # V3 has no lookup by our number: search the sale's business day (and the next, for
        # sales near midnight) and match ExternalID.
        day = (
            datetime.fromisoformat(fact["business_date"]).date()
            if fact
            else datetime.now(UTC).date()
        )
        for when in (day, day + timedelta(days=1)):
            for receipt in self.receipts_for_day(when):
                if receipt.external_number == external_number:
                    return receipt
        return None

    def active_packages(self) -> list[StatePackage]:
        params = {"LocationLicense": self.license_number}
        body = self.call(Call("list", "GET", "/v1/inventory", params), "inventory list").json(
            parse_float=Decimal
        )
        packages = []
        for item in body.get("Inventory", []):
            unit = "each" if item.get("UnitBased") else "grams"
            amount = state_quantity_to_ours(item["RemainingAmount"], unit)
            packages.append(StatePackage(item["ID"], amount, unit))
        return packages

    def confirm(self, kind, fact, *, external_number, request_id, progress, sale_state_id):
        if kind == "void":
            receipt = self.find_receipt(fact["sale_external_number"], fact=fact)
            if receipt is not None and receipt.voided:
                return Confirmation(landed=True, state_id=receipt.state_id)
            return Confirmation(landed=False)
        return super().confirm(
            kind,
            fact,
            external_number=external_number,
            request_id=request_id,
            progress=progress,
            sale_state_id=sale_state_id,
        )

    def card_status(self, card_number: str) -> CardAnswer:
        """Look a patient card up (v1/patient/lookup): active, its expiry, and its key."""
        response = self.call(self._lookup_call(card_number), "card lookup", accept=(404,))
        if response.status_code == 404:
            self.http.exchanges[-1].outcome = "not_found"
            raise CardNotFound(NO_SUCH_CARD, http_status=404)
        answer = response.json(parse_float=Decimal)
        active = answer.get("CardActive") is True
        expires = _card_date(answer.get("CardExpiration"))
        today = datetime.now(self.zone).date()
        return CardAnswer(
            active, expires, card_refusal(active, expires, today), answer.get("CardKey")
        )

    def test_connection(self) -> str:
        remember_session(self._session_key, None)
        self.login()
        self.call(Call("test", "GET", "/heartbeat"), "heartbeat")
        return f"Connected to BioTrack (New Mexico V3), license {self.license_number}."


class BioTrackLegacyAdapter(Adapter):
    """BioTrack's legacy JSON RPC (API 4.0): one URL, an action per call, session re-login."""

    system = "biotrack"

    def __init__(
        self,
        *,
        base_url: str,
        license_number: str,
        ubi: str,
        username: str,
        password: str,
        zone: ZoneInfo,
        training: bool = False,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        pace: Callable[[], None] | None = None,
    ):
        super().__init__()
        self.license_number = license_number
        self.zone = zone
        self.training = training
        self._login = {"license_number": ubi, "username": username, "password": password}
        self._session_key = (base_url, ubi, username, "legacy")
        self.http = HttpClient(
            base_url, label="BioTrack", exchanges=self.exchanges, timeout=timeout, pace=pace
        )

    def envelope(self, action: str, fields: dict, session: str | None = None) -> dict:
        body = {"API": "4.0", "action": action, **fields}
        if session:
            body["sessionid"] = session
        if self.training:
            body["training"] = 1
        return body

    def post(self, action: str, body: dict, what: str) -> dict:
        """Send one RPC; return the decoded answer, sorting failures (HTTP 200 errors too)."""
        call = Call(action if action == "login" else "send", "POST", "", body=body,
                    content_type="text/JSON")  # fmt: skip
        response = self.http.send(call)
        exchange = self.http.exchanges[-1]
        exchange.url = f"serverjson.asp {action}"
        if response.status_code >= 500 or response.status_code == 429:
            exchange.outcome = "error"
            text = (
                f"BioTrack had a server error (HTTP {response.status_code}); will check and retry."
            )
            exchange.message = text
            raise TryLater(
                text,
                http_status=response.status_code,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                may_have_landed=response.status_code != 429,
            )
        if response.status_code in (401, 403):
            exchange.outcome = "error"
            text = (
                f"BioTrack refused the credentials (HTTP {response.status_code}). Reporting for "
                f"license {self.license_number} is paused: fix them in the store's settings, "
                "then resume it."
            )
            exchange.message = text
            raise Unauthorized(text, http_status=response.status_code)
        try:
            answer = json.loads(LEAKED_HEADER.sub("", response.text, count=1), parse_float=Decimal)
        except ValueError as exc:
            exchange.outcome = "error"
            text = f"BioTrack answered something that is not JSON (HTTP {response.status_code})."
            exchange.message = text
            raise TryLater(text, http_status=response.status_code, may_have_landed=True) from exc
        if not isinstance(answer, dict):
            exchange.outcome = "error"
            text = f"BioTrack answered something else than a reply (HTTP {response.status_code})."
            exchange.message = text
            raise TryLater(text, http_status=response.status_code, may_have_landed=True)
        if str(answer.get("success")) == "1":
            exchange.outcome = "ok"
            return answer
        exchange.outcome = "error"
        said = str(answer.get("error", "no error text"))
        code = answer.get("errorcode")
        error = words_for_people(said) or NOT_BIOTRACKS
        exchange.message = error
        if SESSION_EXPIRED.search(said):
            raise SessionExpired(error)
        if action == "login":
            text = (
                f"BioTrack refused the login for license {self.license_number} ({error}). "
                "Reporting for this license is paused: fix the credentials in the store's "
                "settings, then resume it."
            )
            exchange.message = text
            raise Unauthorized(text, http_status=response.status_code)
        suffix = f" (error code {code})" if code else ""
        text = f"BioTrack rejected this {what}: {error}{suffix}"
        exchange.message = text
        raise Rejected(text, http_status=response.status_code)

    def session(self) -> str:
        token = cached_session(self._session_key)
        if token:
            return token
        answer = self.post("login", self.envelope("login", self._login), "login")
        remember_session(self._session_key, answer["sessionid"])
        return answer["sessionid"]

    def rpc(self, action: str, fields: dict, what: str) -> dict:
        """Call an action with the session, logging in again once when it expired."""
        for attempt in (1, 2):
            try:
                return self.post(action, self.envelope(action, fields, self.session()), what)
            except SessionExpired:
                remember_session(self._session_key, None)
                if attempt == 2:
                    raise TryLater("BioTrack kept expiring our session; will retry.") from None
        raise AssertionError("unreachable")

    def data(self, lines: list[dict], external_number: str) -> list[dict]:
        return [
            {
                "barcodeid": line["tag"],
                "quantity": quantity(line["quantity"], line["unit"]),
                "price": f"{dollars(line['amount_cents'])}",
                "item_number": external_number,
            }
            for line in lines
        ]

    def plan_sale(self, fact: dict, external_number: str, request_id: str) -> dict:
        sold = int(datetime.fromisoformat(fact["sold_at"]).timestamp())
        return {
            "terminal_id": "1",
            "sale_time": sold,
            "data": self.data(tagged_lines(fact), external_number),
            "nonce": request_id,
        }

    def plan_void(self, sale_state_id: str, request_id: str) -> dict:
        return {"transactionid": sale_state_id, "nonce": request_id}

    def plan_return(self, fact: dict, sale_state_id: str, request_id: str) -> dict:
        return {
            "transactionid": sale_state_id,
            "data": self.data(tagged_lines(fact, "returned"), fact["sale_external_number"]),
            "nonce": request_id,
        }

    def plan_adjustment(self, fact: dict, request_id: str) -> dict:
        if fact["delta"] > 0:
            raise NotSupported(
                "BioTrack's API records adjustments that remove stock only. Record this "
                "increase in BioTrack by hand, then mark the report handled."
            )
        return {
            "data": [
                {
                    "barcodeid": fact["tag"],
                    "quantity": f"{quantity(-fact['delta'], fact['unit']):.6f}",
                    "quantity_uom": "ea" if fact["unit"] == "each" else "g",
                    "type": fact.get("reason_code") or "4",
                    "reason": fact.get("note") or fact.get("reason_code") or "adjustment",
                }
            ],
            "nonce": request_id,
        }

    def report_sale(self, fact, *, external_number, request_id) -> Sent:
        answer = self.rpc(
            "sale_dispense", self.plan_sale(fact, external_number, request_id), "sale"
        )
        return Sent(str(answer["transactionid"]))

    def void_sale(self, fact, *, sale_state_id, request_id) -> Sent:
        self.rpc("sale_void", self.plan_void(sale_state_id, request_id), "void")
        return Sent(sale_state_id)

    def report_return(self, fact, *, sale_state_id, request_id) -> Sent:
        answer = self.rpc(
            "sale_refund", self.plan_return(fact, sale_state_id, request_id), "refund"
        )
        return Sent(str(answer.get("transactionid") or sale_state_id))

    def report_adjustment(self, fact, *, request_id) -> Sent:
        answer = self.rpc(
            "inventory_adjust", self.plan_adjustment(fact, request_id), "package adjustment"
        )
        return Sent(str(answer.get("transactionid")) if answer.get("transactionid") else None)

    def confirm(self, kind, fact, *, external_number, request_id, progress, sale_state_id):
        # Every call carried our nonce; nonce_replay gives back the first answer if it landed.
        try:
            answer = self.rpc("nonce_replay", {"nonce": request_id}, "nonce check")
        except Rejected:
            return Confirmation(landed=False)
        return Confirmation(landed=True, state_id=str(answer.get("transactionid") or "") or None)

    def sales(self) -> list[dict]:
        return self.rpc("sync_sale", {"download": 1, "transaction_start": 0}, "sales list").get(
            "sale", []
        )

    def receipts_for_day(self, day) -> list[StateReceipt]:
        by_sale: dict[str, list[dict]] = {}
        refunds: dict[str, list[dict]] = {}
        for row in self.sales():
            original = str(row.get("transactionid_original") or row["transactionid"])
            if original != str(row["transactionid"]):
                refunds.setdefault(original, []).append(row)
            else:
                by_sale.setdefault(original, []).append(row)
        receipts = []
        for tid, rows in by_sale.items():
            sold = datetime.fromtimestamp(int(rows[0]["sessiontime"]), UTC).astimezone(self.zone)
            if sold.date() != day:
                continue
            kept = {}
            for row in rows:
                kept[row["inventoryid"]] = [Decimal(str(row["quantity"])), cents(row["price"])]
            for row in refunds.get(tid, []):
                entry = kept.get(row["inventoryid"])
                if entry:
                    entry[0] -= Decimal(str(row["quantity"]))
                    entry[1] -= cents(row["price"])
            left = {tag: entry for tag, entry in kept.items() if entry[0] > 0}
            receipts.append(
                StateReceipt(
                    state_id=tid,
                    external_number=rows[0].get("itemnumber") or None,
                    line_count=len(left),
                    total_cents=sum(entry[1] for entry in left.values()),
                    voided=any(str(row.get("deleted")) == "1" for row in rows),
                    sold_at=sold.isoformat(),
                    lines=tuple((tag, str(entry[0])) for tag, entry in left.items()),
                )
            )
        return receipts

    def find_receipt(self, external_number, *, fact=None) -> StateReceipt | None:
        day = datetime.fromisoformat(fact["business_date"]).date() if fact else None
        for receipt in self.receipts_for_day(day) if day else []:
            if receipt.external_number == external_number:
                return receipt
        return None

    def active_packages(self) -> list[StatePackage]:
        rows = self.rpc("sync_inventory", {"download": 1}, "inventory list").get("inventory", [])
        packages = []
        for row in rows:
            unit = "each" if row.get("uom", "ea") == "ea" else "grams"
            amount = state_quantity_to_ours(row["remaining_quantity"], unit)
            if amount > 0 and str(row.get("deleted", "0")) != "1":
                packages.append(StatePackage(str(row["id"]), amount, unit))
        return packages

    def card_status(self, card_number: str) -> CardAnswer:
        """Look a patient card up with the legacy `card_lookup` action."""
        try:
            answer = self.rpc(
                "card_lookup", {"card_id": normalize_identifier(card_number)}, "card lookup"
            )
        except Rejected as refusal:
            if re.search(r"not found|no such|unknown card", refusal.message, re.IGNORECASE):
                raise CardNotFound(NO_SUCH_CARD, http_status=refusal.http_status) from refusal
            raise
        active = str(answer.get("active", "1")) == "1"
        expires = _card_date(answer.get("expiration_date"))
        today = datetime.now(self.zone).date()
        return CardAnswer(active, expires, card_refusal(active, expires, today))

    def test_connection(self) -> str:
        remember_session(self._session_key, None)
        self.session()
        return f"Connected to BioTrack (legacy API), license {self.license_number}."


class SessionExpired(Exception):
    """BioTrack said the session expired; log in again."""
