"""Metrc v2: HTTP Basic (integrator key, user key), licenseNumber on each call, one receipt each."""

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests

from models.compliance.payloads import (
    AdjustmentFact,
    Progress,
    ReportPayload,
    ReturnFact,
    SaleFact,
    VoidFact,
)
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

CUSTOMER_TYPES = {"consumer": "Consumer", "patient": "Patient", "caregiver": "Caregiver"}
# States whose Metrc answers GET /patients/v2/statuses/{number} (OpenMetrc's v2 coverage table).
PATIENT_STATUS_STATES = frozenset(
    {"CO", "DC", "GU", "MD", "MI", "MO", "MS", "MT", "NJ", "RI", "SD", "WV"}
)
UNITS = {"each": "Each", "grams": "Grams"}
PAGE_SIZE = 20
WHAT = {
    "sale": "sale",
    "void": "void",
    "return": "corrected receipt",
    "adjustment": "package adjustment",
}


def dollars(cents: int) -> Decimal:
    """Return integer cents as an exact two-place dollar amount."""
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def cents(amount) -> int:
    """Return a dollar amount from the state as integer cents."""
    return int((Decimal(str(amount)) * 100).quantize(Decimal("1")))


def quantity(value: int, unit: str) -> Decimal:
    """Return units as they are, or integer milligrams as exact grams."""
    if unit == "each":
        return Decimal(value)
    return (Decimal(value) / 1000).normalize()


def state_quantity_to_ours(value, unit: str) -> int:
    """Return a Metrc quantity as units or integer milligrams."""
    amount = Decimal(str(value))
    return int(amount) if unit == "each" else int((amount * 1000).quantize(Decimal("1")))


def local_sales_time(utc_iso: str, zone: ZoneInfo) -> str:
    """Return Metrc's SalesDateTime: the facility's local wall time, no offset, milliseconds."""
    local = datetime.fromisoformat(utc_iso).astimezone(zone)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"


NOT_METRCS = "an answer that is not Metrc's error text (not shown)"


def error_message(status: int, text: str) -> str:
    """Return Metrc's error text from any of its shapes (row list, Message, strings, plain)."""
    if not text.strip():
        return f"HTTP {status} with an empty body"
    try:
        body = json.loads(text)
    except ValueError:
        return words_for_people(text) or NOT_METRCS
    parts: list[str] = []

    def collect(item):
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, list):
            for entry in item:
                collect(entry)
        elif isinstance(item, dict):
            message = item.get("message") or item.get("Message")
            if message:
                row = item.get("row", item.get("Row"))
                parts.append(f"row {row}: {message}" if row is not None else str(message))
            for key in ("ValidationErrors", "validationErrors", "Errors", "errors"):
                if key in item:
                    collect(item[key])

    collect(body)
    return words_for_people("; ".join(parts) if parts else text) or NOT_METRCS


class MetrcAdapter(Adapter):
    """Metrc v2 for one facility license."""

    system = "metrc"

    def __init__(
        self,
        *,
        base_url: str,
        license_number: str,
        vendor_key: str,
        user_key: str,
        zone: ZoneInfo,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        pace: Callable[[], None] | None = None,
        state: str = "",
    ):
        super().__init__()
        self.license_number = license_number
        self.zone = zone
        self.state = state.upper()
        self.http = HttpClient(
            base_url,
            label="Metrc",
            exchanges=self.exchanges,
            auth=(vendor_key, user_key),
            timeout=timeout,
            pace=pace,
        )

    # Plans: the exact calls, shared with the dry run.

    def receipt_body(self, fact: SaleFact, external_number: str) -> dict:
        """Return one receipt in Metrc's create-receipt shape."""
        transactions = []
        for line in fact["lines"]:
            if not line.get("tag"):
                raise Rejected(
                    f"Line “{line.get('name', '?')}” has no package tag; Metrc needs the "
                    "package of every line. Fix the sale's lines, then retry."
                )
            transactions.append(
                {
                    "PackageLabel": line["tag"],
                    "Quantity": quantity(line["quantity"], line["unit"]),
                    "UnitOfMeasure": UNITS[line["unit"]],
                    "TotalAmount": dollars(line["amount_cents"]),
                }
            )
        customer = fact.get("customer_type", "consumer")
        return {
            "SalesDateTime": local_sales_time(fact["sold_at"], self.zone),
            "ExternalReceiptNumber": external_number,
            "SalesCustomerType": CUSTOMER_TYPES[customer],
            "PatientLicenseNumber": fact.get("patient_license") if customer != "consumer" else None,
            "CaregiverLicenseNumber": fact.get("caregiver_license")
            if customer == "caregiver"
            else None,
            "IdentificationMethod": None,
            "PatientRegistrationLocationId": None,
            "Transactions": transactions,
        }

    def params(self, **extra) -> dict:
        return {"licenseNumber": self.license_number, **extra}

    def plan_sale(self, fact: SaleFact, external_number: str) -> Call:
        return Call(
            "send",
            "POST",
            "/sales/v2/receipts",
            self.params(),
            [self.receipt_body(fact, external_number)],
        )

    def plan_void(self, sale_state_id: str) -> Call:
        return Call("send", "DELETE", f"/sales/v2/receipts/{sale_state_id}", self.params())

    def plan_return(self, fact: ReturnFact, sale_state_id: str) -> Call:
        if not fact["lines"]:
            # Everything came back: Metrc has no refund call, so the receipt is archived.
            return self.plan_void(sale_state_id)
        body = {"Id": int(sale_state_id), **self.receipt_body(fact, fact["sale_external_number"])}
        return Call("send", "PUT", "/sales/v2/receipts", self.params(), [body])

    def plan_adjustment(self, fact: AdjustmentFact) -> Call:
        if not fact.get("reason_code"):
            raise Rejected(
                "This adjustment has no Metrc adjustment reason. Record the reason on the "
                "adjustment, then retry."
            )
        body = {
            "Label": fact["tag"],
            "Quantity": quantity(fact["delta"], fact["unit"]),
            "UnitOfMeasure": UNITS[fact["unit"]],
            "AdjustmentReason": fact["reason_code"],
            "AdjustmentDate": fact["date"],
            "ReasonNote": fact.get("note"),
        }
        return Call("send", "POST", "/packages/v2/adjust", self.params(), [body])

    # Sending.

    def call(self, call: Call, what: str = "request", accept: tuple = ()) -> requests.Response:
        """Send a call; return a 2xx (or accepted) answer, or raise the failure sorted for jobs."""
        response = self.http.send(call)
        exchange = self.http.exchanges[-1]
        status = response.status_code
        if 200 <= status < 300 or status in accept:
            exchange.outcome = "ok"
            return response
        message = error_message(status, response.text)
        exchange.outcome = "error"
        if status in (401, 403):
            if status == 401:
                text = (
                    f"Metrc refused the credentials for license {self.license_number} "
                    f"(HTTP 401: {message}). Reporting for this license is paused: enter a "
                    "valid user key in the store's settings, then resume it."
                )
            else:
                text = (
                    f"Metrc says the user key may not do this for license {self.license_number} "
                    f"(HTTP 403: {message}). Reporting for this license is paused: give the "
                    "Metrc user the sales permissions, then resume it."
                )
            exchange.message = text
            raise Unauthorized(text, http_status=status)
        if status == 429:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            text = f"Metrc asked us to slow down (HTTP 429: {message})."
            exchange.message = text
            raise TryLater(text, http_status=status, retry_after=wait)
        if status >= 500 or status == 408:
            text = f"Metrc had a server error (HTTP {status}: {message}); will check and retry."
            exchange.message = text
            raise TryLater(text, http_status=status, may_have_landed=call.method != "GET")
        text = f"Metrc rejected this {what} (HTTP {status}): {message}"
        exchange.message = text
        raise Rejected(text, http_status=status)

    def report_sale(self, fact: SaleFact, *, external_number: str, request_id: str) -> Sent:
        response = self.call(self.plan_sale(fact, external_number), "sale")
        ids = (response.json(parse_float=Decimal) or {}).get("Ids") if response.content else None
        if ids:
            return Sent(str(ids[0]))
        # Older Metrc answers an empty 200: find the id by our number.
        receipt = self.find_receipt(external_number)
        return Sent(receipt.state_id if receipt else None)

    def void_sale(self, fact: VoidFact, *, sale_state_id: str, request_id: str) -> Sent:
        self.call(self.plan_void(sale_state_id), "void")
        return Sent(sale_state_id)

    def report_return(self, fact: ReturnFact, *, sale_state_id: str, request_id: str) -> Sent:
        self.call(self.plan_return(fact, sale_state_id), "corrected receipt")
        return Sent(sale_state_id)

    def report_adjustment(self, fact: AdjustmentFact, *, request_id: str) -> Sent:
        self.call(self.plan_adjustment(fact), "package adjustment")
        return Sent(None)

    # Looking things up.

    def receipt_from(self, body: dict) -> StateReceipt:
        transactions = body.get("Transactions") or []
        total = body.get("TotalPrice")
        if total is None:
            total_cents = sum(
                cents(t.get("TotalPrice", t.get("TotalAmount", 0))) for t in transactions
            )
        else:
            total_cents = cents(total)
        lines = tuple(
            (t.get("PackageLabel"), str(t.get("QuantitySold", t.get("Quantity"))))
            for t in transactions
        )
        return StateReceipt(
            state_id=str(body["Id"]),
            external_number=body.get("ExternalReceiptNumber"),
            line_count=body.get("TotalPackages", len(transactions)),
            total_cents=total_cents,
            voided=bool(body.get("ArchivedDate")),
            sold_at=body.get("SalesDateTime"),
            lines=lines,
        )

    def find_receipt(
        self, external_number: str, *, fact: SaleFact | None = None
    ) -> StateReceipt | None:
        call = Call(
            "lookup", "GET", f"/sales/v2/receipts/external/{external_number}", self.params()
        )
        response = self.call(call, "lookup", accept=(404,))
        exchange = self.http.exchanges[-1]
        if response.status_code == 404:
            exchange.outcome = "not_found"
            exchange.message = f"Metrc has no receipt {external_number}."
            return None
        exchange.outcome = "found"
        exchange.message = f"Metrc already holds receipt {external_number}."
        return self.receipt_from(response.json(parse_float=Decimal))

    def pages(self, path: str, params: dict, action: str) -> list[dict]:
        """Return every record of a wrapped v2 list, page by page (oldest first)."""
        records: list[dict] = []
        page = 1
        while True:
            call = Call(
                action, "GET", path, self.params(pageNumber=page, pageSize=PAGE_SIZE, **params)
            )
            body = self.call(call, "list request").json(parse_float=Decimal)
            data = body.get("Data", body if isinstance(body, list) else [])
            records.extend(data)
            total_pages = body.get("TotalPages") or 1 if isinstance(body, dict) else 1
            if page >= total_pages or not data:
                return records
            page += 1

    def receipts_for_day(self, day) -> list[StateReceipt]:
        window = {
            "salesDateStart": day.isoformat(),
            "salesDateEnd": (day + timedelta(days=1)).isoformat(),
        }
        found: dict[str, StateReceipt] = {}
        for path in ("/sales/v2/receipts/active", "/sales/v2/receipts/inactive"):
            for body in self.pages(path, window, "list"):
                receipt = self.receipt_from(body)
                found[receipt.state_id] = receipt
        return list(found.values())

    def active_packages(self) -> list[StatePackage]:
        packages = []
        for body in self.pages("/packages/v2/active", {}, "list"):
            unit = "each" if body.get("UnitOfMeasureName") == "Each" else "grams"
            packages.append(
                StatePackage(body["Label"], state_quantity_to_ours(body["Quantity"], unit), unit)
            )
        return packages

    def package_quantity(self, tag: str) -> str:
        """Return a package's quantity at Metrc, exactly as Metrc wrote it."""
        call = Call("check", "GET", f"/packages/v2/{tag}", self.params())
        return str(
            Decimal(str(self.call(call, "package lookup").json(parse_float=Decimal)["Quantity"]))
        )

    def before_send(self, kind: str, fact: ReportPayload) -> Progress:
        if kind != "adjustment":
            return {}
        # The adjust POST is not idempotent and has no number of ours: remember the quantity.
        adjustment = cast(AdjustmentFact, fact)
        return {"quantity_before": self.package_quantity(adjustment["tag"])}

    def confirm(self, kind, fact, *, external_number, request_id, progress, sale_state_id):
        if kind in ("void", "return"):
            # DELETE and PUT are idempotent at Metrc: sending again cannot double anything.
            return Confirmation(landed=False)
        if kind == "adjustment":
            before = Decimal(progress["quantity_before"])
            now = Decimal(self.package_quantity(fact["tag"]))
            if now == before + quantity(fact["delta"], fact["unit"]):
                return Confirmation(landed=True)
            if now == before:
                return Confirmation(landed=False)
            return Confirmation(
                landed=None,
                unknown_reason=(
                    f"Package {fact['tag']} changed at Metrc in between ({before} → {now}), so "
                    "it is not clear whether this adjustment was recorded. Check the package in "
                    "Metrc, then retry it here or mark it handled."
                ),
            )
        return super().confirm(
            kind,
            fact,
            external_number=external_number,
            request_id=request_id,
            progress=progress,
            sale_state_id=sale_state_id,
        )

    def card_status(self, card_number: str) -> CardAnswer:
        """Ask Metrc for a patient's status, in the states whose Metrc offers it."""
        if self.state not in PATIENT_STATUS_STATES:
            raise NotSupported(f"Metrc offers no card lookup in {self.state or 'this state'}.")
        number = re.sub(r"\s+", "", card_number).upper()
        call = Call(
            "card",
            "GET",
            f"/patients/v2/statuses/{quote(number, safe='')}",
            self.params(),
            shown_path="/patients/v2/statuses/•••" + number[-4:],
        )
        response = self.call(call, "card lookup", accept=(404,))
        body = response.json(parse_float=Decimal) if response.content else None
        rows = body.get("Data", [body]) if isinstance(body, dict) else (body or [])
        if response.status_code == 404 or not rows:
            self.http.exchanges[-1].outcome = "not_found"
            raise CardNotFound("Metrc has no patient card with this number.", http_status=404)
        active = bool(rows[0].get("Active"))
        return CardAnswer(active, reason=None if active else "Metrc says this card is not active.")

    def test_connection(self) -> str:
        facilities = self.call(Call("test", "GET", "/facilities/v2/"), "connection test").json(
            parse_float=Decimal
        )
        if isinstance(facilities, dict):
            facilities = facilities.get("Data", [])
        for facility in facilities:
            license_info = facility.get("License") or {}
            if license_info.get("Number") == self.license_number:
                name = facility.get("DisplayName") or facility.get("Name") or "the facility"
                return f"Connected to Metrc: {name}, license {self.license_number}."
        raise Rejected(
            f"The Metrc keys work, but they give no access to license {self.license_number}. "
            "Check the license number in the store's settings."
        )
