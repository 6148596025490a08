"""BioTrack Traceability API V3 (New Mexico): a Bearer session and REST calls under /v1."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import requests

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
    NO_SUCH_CARD,
    NOT_BIOTRACKS,
    BioTrackAdapter,
    cached_session,
    card_date,
    remember_session,
    rfc3339,
    sale_type,
    tagged_lines,
)
from tracktrace.http import (
    DEFAULT_TIMEOUT,
    Call,
    retry_after_seconds,
    words_for_people,
)
from tracktrace.metrc import cents, dollars, quantity, state_quantity_to_ours


class BioTrackV3Adapter(BioTrackAdapter):
    """BioTrack Traceability API V3 (New Mexico): Bearer session, v1/dispense."""

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
        super().__init__(
            base_url=base_url,
            license_number=license_number,
            session_key=(base_url, ubi, username),
            zone=zone,
            timeout=timeout,
            pace=pace,
        )
        self._login_body = {"UBI": ubi, "Username": username, "Password": password}

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

    def items(self, lines: list[LineFact]) -> list[dict]:
        return [
            {
                "Barcode": line["tag"],
                "Quantity": quantity(line["quantity"], line["unit"]),
                "Price": dollars(line["amount_cents"]),
            }
            for line in lines
        ]

    def plan_sale(self, fact: SaleFact, external_number: str, request_id: str) -> Call:
        body: dict[str, object] = {
            "LocationLicense": self.license_number,
            "Type": sale_type(fact),
            "TerminalID": "pistil",
            "Datetime": rfc3339(fact["sold_at"], self.zone),
            "ExternalID": external_number,
            "RequestID": request_id,
            "Items": self.items(tagged_lines(fact["lines"])),
        }
        if sale_type(fact) == "MEDICAL":
            body["PatientCardKey"] = fact.get("patient_card_key")
        return Call("send", "POST", "/v1/dispense", body=body)

    def plan_void(self, sale_state_id: str, request_id: str) -> Call:
        body = {"LocationLicense": self.license_number, "RequestID": request_id}
        return Call("send", "PUT", f"/v1/sale/{sale_state_id}/void", body=body)

    def plan_return(self, fact: ReturnFact, sale_state_id: str, request_id: str) -> Call:
        body = {
            "LocationLicense": self.license_number,
            "RequestID": request_id,
            "Items": self.items(tagged_lines(fact["returned"])),
        }
        return Call("send", "POST", f"/v1/sale/{sale_state_id}/refund", body=body)

    def plan_adjustment(self, fact: AdjustmentFact) -> Call:
        raise NotSupported(
            "BioTrack's New Mexico API has no adjustment call Pistil can use. Record this "
            "adjustment in BioTrack by hand, then mark the report handled."
        )

    def plan_card_lookup(self, fact: SaleFact) -> Call:
        """Plan the lookup of the card a medical sale is dispensed against: the patient's."""
        # A caregiver's sale too: it counts against the patient's allotment, so BioTrack is
        # asked for the patient's card, never the caregiver's.
        return self._lookup_call(fact.get("patient_license") or "")

    def _lookup_call(self, card_number: str) -> Call:
        body = {"CardID": normalize_identifier(card_number), "LocationLicense": self.license_number}
        return Call("card", "POST", "/v1/patient/lookup", body=body)

    def card_key(self, fact: SaleFact) -> SaleFact:
        """Add the patient's card key (from a card lookup) to a medical sale."""
        if sale_type(fact) != "MEDICAL" or fact.get("patient_card_key"):
            return fact
        if not fact.get("patient_license"):
            raise Rejected(
                "This medical sale has no patient card on file, so BioTrack cannot be told "
                "whose allotment it counts against. Record the patient's card, then retry."
            )
        try:
            answer = self.card_status(fact.get("patient_license") or "")
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

    def report_sale(self, fact: SaleFact, *, external_number: str, request_id: str) -> Sent:
        call = self.plan_sale(self.card_key(fact), external_number, request_id)
        body = self.call(call, "sale").json(parse_float=Decimal)
        return Sent(str(body["TransactionID"]))

    def void_sale(self, fact: VoidFact, *, sale_state_id: str, request_id: str) -> Sent:
        self.call(self.plan_void(sale_state_id, request_id), "void")
        return Sent(sale_state_id)

    def report_return(self, fact: ReturnFact, *, sale_state_id: str, request_id: str) -> Sent:
        body = self.call(self.plan_return(fact, sale_state_id, request_id), "refund").json(
            parse_float=Decimal
        )
        return Sent(str(body.get("TransactionID") or sale_state_id))

    def report_adjustment(self, fact: AdjustmentFact, *, request_id: str) -> Sent:
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

    def find_receipt(
        self, external_number: str, *, fact: SaleFact | None = None
    ) -> StateReceipt | None:
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
        expires = card_date(answer.get("CardExpiration"))
        return self.card_answer(active, expires, answer.get("CardKey"))

    def test_connection(self) -> str:
        remember_session(self._session_key, None)
        self.login()
        self.call(Call("test", "GET", "/heartbeat"), "heartbeat")
        return f"Connected to BioTrack (New Mexico V3), license {self.license_number}."
