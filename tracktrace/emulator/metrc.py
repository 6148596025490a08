"""Emulated Metrc v2: Basic auth, licenseNumber, receipts, packages, adjustments, real errors."""

import base64
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import unquote

from tracktrace.emulator.http import Answer, Reply, Request, is_number, text
from tracktrace.emulator.metrc_receipts import (
    CUSTOMER_TYPES,
    UNITS,
    check_receipt,
    check_transactions,
)
from tracktrace.emulator.world import Facility, MetrcUser, World

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
REASONS = {
    "Drying": False,
    "Entry Error": True,
    "Theft": True,
    "Waste": False,
    "Damage": True,
    "Mandatory State Destruction": False,
    "Scale Variance": False,
}
RATE_LIMITED = (
    "The limit of API calls allowed has been exceeded. Please pace the traffic of API calls."
)
NOT_AUTHORIZED = "Authorization denied. The API key or user key is invalid."


def rows_error(errors: list[tuple[int, str]]) -> Answer:
    return Answer(Reply(400, [{"row": row, "message": message} for row, message in errors]))


def message(status: int, text_: str) -> Answer:
    return Answer(Reply(status, {"Message": text_}))


class Metrc:
    """Route and answer Metrc v2 requests."""

    def __init__(self, world: World):
        self.world = world

    def license_of(self, request: Request) -> str | None:
        return request.query.get("licenseNumber")

    def handle(self, request: Request) -> Reply:
        user = self.authenticate(request)
        method, path = request.method, request.path.rstrip("/") or "/"
        if method == "GET":
            self.pace_gets(request)
        if path in OPEN_ROUTES:
            return OPEN_ROUTES[path](self, user)
        facility = self.facility(request, user)
        for methods, pattern, answer in ROUTES:
            match = pattern.fullmatch(path)
            if match and method in methods:
                return answer(self, Asked(request, facility, user, match))
        raise message(404, "No HTTP resource was found that matches the request URI.")

    def package(self, asked: "Asked") -> Reply:
        package = asked.facility.packages.get(asked.match[1])
        if package is None:
            raise message(404, f"Package {asked.match[1]} was not found.")
        return Reply(200, self.package_json(package))

    def active_packages(self, asked: "Asked") -> Reply:
        packages = asked.facility.packages.values()
        return self.wrapped(asked.request, [self.package_json(p) for p in packages if p.active])

    def patient_lookup(self, asked: "Asked") -> Reply:
        self.require(asked.user, "patients")
        return self.patient_status(unquote(asked.match[1]))

    def patient_status(self, number: str) -> Reply:
        card = self.world.card(number)
        if card is None:
            raise message(404, f"Patient license number {number} was not found.")
        row = {
            "PatientLicenseNumber": number,
            "Active": card.active,
            "FlowerOuncesAvailable": 2.0 if card.active else 0.0,
            "ThcOuncesAvailable": 2.0 if card.active else 0.0,
            "PurchaseAmountDays": 1,
        }
        return Reply(200, [row])

    # Who is asking.

    def authenticate(self, request: Request):
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            raise Answer(text(401, NOT_AUTHORIZED))
        try:
            vendor, user_key = base64.b64decode(header[6:]).decode().split(":", 1)
        except (ValueError, UnicodeDecodeError):
            raise Answer(text(401, NOT_AUTHORIZED)) from None
        user = self.world.metrc_users.get(user_key)
        if vendor not in self.world.vendor_keys or user is None:
            raise Answer(text(401, NOT_AUTHORIZED))
        return user

    def facility(self, request: Request, user) -> Facility:
        license = self.license_of(request)
        if not license:
            raise message(400, "No license number was specified.")
        facility = self.world.facilities.get(license)
        if facility is None or facility.system != "metrc" or license not in user.licenses:
            # Metrc answers 401, not 404, for a license the key may not use.
            raise Answer(text(401, f"Authorization denied for license {license}."))
        return facility

    def require(self, user, permission: str) -> None:
        if permission not in user.permissions:
            names = {
                "sales": "Manage Sales",
                "packages": "Manage Packages Inventory",
                "patients": "Lookup Patients",
            }
            raise message(403, f"User does not have the required permission: {names[permission]}.")

    def pace_gets(self, request: Request) -> None:
        # Metrc limits GETs per facility; writes are not limited.
        key = self.license_of(request) or "-"
        now = time.monotonic()
        with self.world.lock:
            recent = [t for t in self.world.get_times.get(key, []) if now - t < 1.0]
            if len(recent) >= self.world.get_limit_per_second:
                raise Answer(Reply(429, RATE_LIMITED, {"Retry-After": "1"}, "text/plain"))
            recent.append(now)
            self.world.get_times[key] = recent

    def facilities(self, user) -> Reply:
        rows = []
        for license in sorted(user.licenses):
            facility = self.world.facilities[license]
            rows.append(
                {
                    "Name": facility.name,
                    "DisplayName": facility.name,
                    "License": {"Number": license, "LicenseType": "Retailer"},
                }
            )
        return Reply(200, rows)

    # Receipts.

    def body_array(self, request: Request) -> list:
        try:
            body = request.json()
        except ValueError:
            raise message(400, "The request body is not valid JSON.") from None
        if not isinstance(body, list):
            raise message(400, "The request body must be an array.")
        if len(body) > 10:
            raise message(413, "Too many objects in one request: send 10 or fewer.")
        return body

    def apply(self, facility: Facility, taken: dict[str, Decimal], sign: int) -> None:
        for label, quantity in taken.items():
            facility.packages[label].quantity -= sign * quantity

    def build_receipt(self, facility: Facility, receipt: dict, receipt_id: int) -> dict:
        transactions = [
            {
                "PackageLabel": t["PackageLabel"],
                "QuantitySold": t["Quantity"],
                "UnitOfMeasureName": t["UnitOfMeasure"],
                "TotalPrice": t["TotalAmount"],
            }
            for t in receipt["Transactions"]
        ]
        now = self.world.now_iso()
        return {
            "Id": receipt_id,
            "ReceiptNumber": f"{receipt_id:010d}",
            "SalesDateTime": receipt["SalesDateTime"],
            "SalesCustomerType": receipt["SalesCustomerType"],
            "PatientLicenseNumber": receipt.get("PatientLicenseNumber"),
            "CaregiverLicenseNumber": receipt.get("CaregiverLicenseNumber"),
            "IdentificationMethod": receipt.get("IdentificationMethod"),
            "PatientRegistrationLocationId": receipt.get("PatientRegistrationLocationId"),
            "ExternalReceiptNumber": receipt.get("ExternalReceiptNumber"),
            "TotalPackages": len(transactions),
            "TotalPrice": sum((t["TotalPrice"] for t in transactions), Decimal("0.00")),
            "Transactions": transactions,
            "IsFinal": False,
            "ArchivedDate": None,
            "RecordedDateTime": now,
            "RecordedByUserName": "api",
            "LastModified": now,
        }

    def create_receipts(self, request: Request, facility: Facility, user) -> Reply:
        self.require(user, "sales")
        body = self.body_array(request)
        with self.world.lock:
            errors: list = []
            takes = []
            for row, receipt in enumerate(body):
                check_receipt(self.world, receipt, row, errors)
                takes.append(
                    check_transactions(facility, receipt, row, errors)
                    if isinstance(receipt, dict)
                    else {}
                )
            if errors:
                raise rows_error(errors)
            ids = []
            # Metrc keeps no uniqueness on ExternalReceiptNumber: a repeated POST is a second sale.
            for receipt, taken in zip(body, takes, strict=True):
                self.apply(facility, taken, 1)
                receipt_id = self.world.next_id()
                facility.receipts.append(self.build_receipt(facility, receipt, receipt_id))
                ids.append(receipt_id)
        return Reply(200, {"Ids": ids, "Warnings": None})

    def find(self, facility: Facility, receipt_id: int) -> dict:
        for receipt in facility.receipts:
            if receipt["Id"] == receipt_id:
                return receipt
        for other in self.world.facilities.values():
            if any(r["Id"] == receipt_id for r in other.receipts):
                raise Answer(
                    text(401, "Authorization denied: the receipt belongs to another license.")
                )
        raise message(404, f"Sales receipt {receipt_id} was not found.")

    def update_receipts(self, request: Request, facility: Facility, user) -> Reply:
        self.require(user, "sales")
        body = self.body_array(request)
        with self.world.lock:
            errors: list = []
            for row, receipt in enumerate(body):
                receipt_id = receipt.get("Id") if isinstance(receipt, dict) else None
                if not is_number(receipt_id):
                    errors.append((row, "Id is required to update a receipt."))
                    continue
                old = self.find(facility, int(receipt_id))
                if old["ArchivedDate"]:
                    errors.append((row, f"Sales receipt {receipt_id} is archived."))
                    continue
                check_receipt(self.world, receipt, row, errors)
                restored = self.taken_by(old)
                self.apply(facility, restored, -1)
                try:
                    taken = check_transactions(facility, receipt, row, errors)
                finally:
                    self.apply(facility, restored, 1)
                if errors:
                    continue
                self.apply(facility, restored, -1)
                self.apply(facility, taken, 1)
                new = self.build_receipt(facility, receipt, old["Id"])
                new["RecordedDateTime"] = old["RecordedDateTime"]
                old.update(new)
            if errors:
                raise rows_error(errors)
        return Reply(200, {"Ids": [int(r["Id"]) for r in body], "Warnings": None})

    def taken_by(self, receipt: dict) -> dict[str, Decimal]:
        taken: dict[str, Decimal] = {}
        for t in receipt["Transactions"]:
            taken[t["PackageLabel"]] = taken.get(t["PackageLabel"], Decimal(0)) + t["QuantitySold"]
        return taken

    def archive(self, facility: Facility, user, receipt_id: int) -> Reply:
        self.require(user, "sales")
        with self.world.lock:
            receipt = self.find(facility, receipt_id)
            # DELETE is idempotent: archiving an archived receipt changes nothing.
            if not receipt["ArchivedDate"]:
                self.apply(facility, self.taken_by(receipt), -1)
                receipt["ArchivedDate"] = self.world.now_iso()
                receipt["LastModified"] = receipt["ArchivedDate"]
        return Reply(200)

    def receipt(self, facility: Facility, receipt_id: int) -> dict:
        with self.world.lock:
            return dict(self.find(facility, receipt_id))

    def receipt_by_external(self, facility: Facility, number: str) -> Reply:
        with self.world.lock:
            for receipt in facility.receipts:
                if receipt["ExternalReceiptNumber"] == number:
                    return Reply(200, dict(receipt))
        raise message(404, f"No sales receipt with external number {number} was found.")

    def list_receipts(self, request: Request, facility: Facility, *, active: bool) -> Reply:
        q = request.query
        by_sales = "salesDateStart" in q or "salesDateEnd" in q
        by_modified = "lastModifiedStart" in q or "lastModifiedEnd" in q
        if by_sales and by_modified:
            raise message(
                400, "Filter by either the sales date or the last modified date, not both."
            )
        start_key, end_key = (
            ("salesDateStart", "salesDateEnd")
            if by_sales
            else ("lastModifiedStart", "lastModifiedEnd")
        )
        field = "SalesDateTime" if by_sales else "LastModified"
        start, end = q.get(start_key, ""), q.get(end_key, "9999")
        with self.world.lock:
            rows = [
                dict(r)
                for r in facility.receipts
                if (not (r["IsFinal"] or r["ArchivedDate"])) == active and start <= r[field] < end
            ]
        return self.wrapped(request, rows)

    def wrapped(self, request: Request, rows: list) -> Reply:
        size_text = request.query.get("pageSize")
        if size_text is None:
            # "Pagination is currently disabled by default."
            page, size = 1, max(len(rows), 1)
        else:
            size, page = int(size_text), int(request.query.get("pageNumber", "1"))
            if not 1 <= size <= 20:
                raise message(400, "pageSize must be between 1 and 20.")
        pages = max(1, -(-len(rows) // size))
        chunk = rows[(page - 1) * size : page * size]
        return Reply(
            200,
            {
                "Data": chunk,
                "Total": len(rows),
                "TotalRecords": len(rows),
                "PageSize": size,
                "RecordsOnPage": len(chunk),
                "Page": page,
                "CurrentPage": page,
                "TotalPages": pages,
            },
        )

    def package_json(self, package) -> dict:
        return {
            "Label": package.tag,
            "Quantity": package.quantity,
            "UnitOfMeasureName": package.unit,
            "FinishedDate": None if package.active else "2000-01-01",
        }

    # Packages.

    def adjust(self, request: Request, facility: Facility, user) -> Reply:
        self.require(user, "packages")
        body = self.body_array(request)
        with self.world.lock:
            errors: list = []
            changes = []
            for row, item in enumerate(body):
                label = item.get("Label")
                package = facility.packages.get(label) if isinstance(label, str) else None
                if package is None or not package.active:
                    errors.append(
                        (row, f"Package {label} is not an active package of this facility.")
                    )
                    continue
                quantity, unit = item.get("Quantity"), item.get("UnitOfMeasure")
                reason = item.get("AdjustmentReason")
                if not is_number(quantity) or quantity == 0:
                    errors.append((row, "Quantity must be a non-zero number."))
                elif unit != package.unit:
                    errors.append(
                        (
                            row,
                            f"Unit of measure {unit} does not match package {label} "
                            f"({package.unit}).",
                        )
                    )
                elif reason not in REASONS:
                    errors.append(
                        (row, f"Adjustment reason {reason!r} is not valid for this facility.")
                    )
                elif REASONS[reason] and not item.get("ReasonNote"):
                    errors.append((row, f"Adjustment reason {reason} requires a note."))
                elif not isinstance(item.get("AdjustmentDate"), str) or not DATE.match(
                    item["AdjustmentDate"]
                ):
                    errors.append((row, "AdjustmentDate must be a date (YYYY-MM-DD)."))
                elif package.quantity + quantity < 0:
                    errors.append(
                        (
                            row,
                            f"Package {label} has {package.quantity} {package.unit}; "
                            f"cannot remove {-quantity}.",
                        )
                    )
                else:
                    changes.append((package, quantity, item))
            if errors:
                raise rows_error(errors)
            for package, quantity, item in changes:
                package.quantity += quantity
                facility.adjustments.append(dict(item))
        return Reply(200)


@dataclass(frozen=True)
class Asked:
    """A request to a licensed route, with who asked, for which facility, and the path's parts."""

    request: Request
    facility: Facility
    user: MetrcUser
    match: re.Match[str]


# Routes that need no license number, by path.
OPEN_ROUTES: dict[str, Callable[[Metrc, MetrcUser], Reply]] = {
    "/facilities/v2": Metrc.facilities,
    "/unitsofmeasure/v2/active": lambda metrc, user: Reply(
        200, [{"Name": u, "Abbreviation": u[:2], "QuantityType": "x"} for u in UNITS]
    ),
    "/sales/v2/customertypes": lambda metrc, user: Reply(200, list(CUSTOMER_TYPES)),
}
# The licensed routes in the order they are tried: methods, the whole path, and the answer.
ROUTES: tuple[tuple[tuple[str, ...], re.Pattern[str], Callable[[Metrc, Asked], Reply]], ...] = (
    (
        ("POST",),
        re.compile(r"/sales/v2/receipts"),
        lambda metrc, a: metrc.create_receipts(a.request, a.facility, a.user),
    ),
    (
        ("PUT",),
        re.compile(r"/sales/v2/receipts"),
        lambda metrc, a: metrc.update_receipts(a.request, a.facility, a.user),
    ),
    (
        ("GET",),
        re.compile(r"/sales/v2/receipts/(active|inactive)"),
        lambda metrc, a: metrc.list_receipts(a.request, a.facility, active=a.match[1] == "active"),
    ),
    (
        ("GET",),
        re.compile(r"/sales/v2/receipts/external/(.+)"),
        lambda metrc, a: metrc.receipt_by_external(a.facility, a.match[1]),
    ),
    (
        ("GET",),
        re.compile(r"/sales/v2/receipts/(\d+)"),
        lambda metrc, a: Reply(200, metrc.receipt(a.facility, int(a.match[1]))),
    ),
    (
        ("DELETE",),
        re.compile(r"/sales/v2/receipts/(\d+)"),
        lambda metrc, a: metrc.archive(a.facility, a.user, int(a.match[1])),
    ),
    (("GET",), re.compile(r"/patients/v2/statuses/([^/]+)"), Metrc.patient_lookup),
    (("GET",), re.compile(r"/packages/v2/active"), Metrc.active_packages),
    (
        ("GET",),
        re.compile(r"/packages/v2/adjust/reasons"),
        lambda metrc, a: Reply(200, [{"Name": n, "RequiresNote": r} for n, r in REASONS.items()]),
    ),
    (
        ("POST", "PUT"),
        re.compile(r"/packages/v2/adjust"),
        lambda metrc, a: metrc.adjust(a.request, a.facility, a.user),
    ),
    (("GET",), re.compile(r"/packages/v2/([0-9A-Za-z]+)"), Metrc.package),
)
