"""BioTrack's legacy JSON RPC (API 4.0, serverjson.asp), used by states other than New Mexico."""

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from models.compliance.payloads import AdjustmentFact, LineFact, ReturnFact, SaleFact, VoidFact
from models.infra.crypto import normalize_identifier
from tracktrace.base import (
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
from tracktrace.biotrack.common import (
    LEAKED_HEADER,
    NO_SUCH_CARD,
    NOT_BIOTRACKS,
    SESSION_EXPIRED,
    BioTrackAdapter,
    SessionExpired,
    cached_session,
    card_date,
    remember_session,
    tagged_lines,
)
from tracktrace.http import DEFAULT_TIMEOUT, Call, retry_after_seconds, words_for_people
from tracktrace.metrc import cents, dollars, quantity, state_quantity_to_ours


class BioTrackLegacyAdapter(BioTrackAdapter):
    """BioTrack's legacy JSON RPC (API 4.0): one URL, an action per call, session re-login."""

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
        super().__init__(
            base_url=base_url,
            license_number=license_number,
            session_key=(base_url, ubi, username, "legacy"),
            zone=zone,
            timeout=timeout,
            pace=pace,
        )
        self.training = training
        self._login = {"license_number": ubi, "username": username, "password": password}

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

    def data(self, lines: list[LineFact], external_number: str) -> list[dict]:
        return [
            {
                "barcodeid": line["tag"],
                "quantity": quantity(line["quantity"], line["unit"]),
                "price": f"{dollars(line['amount_cents'])}",
                "item_number": external_number,
            }
            for line in lines
        ]

    def plan_sale(self, fact: SaleFact, external_number: str, request_id: str) -> dict:
        sold = int(datetime.fromisoformat(fact["sold_at"]).timestamp())
        return {
            "terminal_id": "1",
            "sale_time": sold,
            "data": self.data(tagged_lines(fact["lines"]), external_number),
            "nonce": request_id,
        }

    def plan_void(self, sale_state_id: str, request_id: str) -> dict:
        return {"transactionid": sale_state_id, "nonce": request_id}

    def plan_return(self, fact: ReturnFact, sale_state_id: str, request_id: str) -> dict:
        return {
            "transactionid": sale_state_id,
            "data": self.data(tagged_lines(fact["returned"]), fact["sale_external_number"]),
            "nonce": request_id,
        }

    def plan_adjustment(self, fact: AdjustmentFact, request_id: str) -> dict:
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

    def report_sale(self, fact: SaleFact, *, external_number: str, request_id: str) -> Sent:
        answer = self.rpc(
            "sale_dispense", self.plan_sale(fact, external_number, request_id), "sale"
        )
        return Sent(str(answer["transactionid"]))

    def void_sale(self, fact: VoidFact, *, sale_state_id: str, request_id: str) -> Sent:
        self.rpc("sale_void", self.plan_void(sale_state_id, request_id), "void")
        return Sent(sale_state_id)

    def report_return(self, fact: ReturnFact, *, sale_state_id: str, request_id: str) -> Sent:
        answer = self.rpc(
            "sale_refund", self.plan_return(fact, sale_state_id, request_id), "refund"
        )
        return Sent(str(answer.get("transactionid") or sale_state_id))

    def report_adjustment(self, fact: AdjustmentFact, *, request_id: str) -> Sent:
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
            kept: dict[str, Decimal] = {}
            amounts: dict[str, int] = {}
            for row in rows:
                kept[row["inventoryid"]] = Decimal(str(row["quantity"]))
                amounts[row["inventoryid"]] = cents(row["price"])
            for row in refunds.get(tid, []):
                if row["inventoryid"] in kept:
                    kept[row["inventoryid"]] -= Decimal(str(row["quantity"]))
                    amounts[row["inventoryid"]] -= cents(row["price"])
            left = {tag: held for tag, held in kept.items() if held > 0}
            receipts.append(
                StateReceipt(
                    state_id=tid,
                    external_number=rows[0].get("itemnumber") or None,
                    line_count=len(left),
                    total_cents=sum(amounts[tag] for tag in left),
                    voided=any(str(row.get("deleted")) == "1" for row in rows),
                    sold_at=sold.isoformat(),
                    lines=tuple((tag, str(left[tag])) for tag in left),
                )
            )
        return receipts

    def find_receipt(
        self, external_number: str, *, fact: SaleFact | None = None
    ) -> StateReceipt | None:
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
        expires = card_date(answer.get("expiration_date"))
        return self.card_answer(active, expires)

    def test_connection(self) -> str:
        remember_session(self._session_key, None)
        self.session()
        return f"Connected to BioTrack (legacy API), license {self.license_number}."
