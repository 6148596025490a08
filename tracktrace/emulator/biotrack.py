"""Emulated BioTrack: New Mexico's V3 REST API and the legacy serverjson.asp RPC."""

import re
import time
from datetime import datetime
from decimal import Decimal

from tracktrace.emulator.http import Answer, Reply, Request, is_number
from tracktrace.emulator.world import Facility, World

BARCODE = re.compile(r"^\d{16}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def error(status: int, text: str) -> Answer:
    return Answer(Reply(status, {"Error": text}))


def go_time_error(value) -> Answer:
    # Go's time.Parse(time.RFC3339, ...) message, as the V3 API passes it through.
    return error(
        400,
        f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": cannot parse '
        f'"{str(value)[19:]}" as "Z07:00"',
    )


def go_type_error(field: str, value) -> Answer:
    kind = "string" if isinstance(value, str) else type(value).__name__
    return error(400, f"json: cannot unmarshal {kind} into Go struct field {field} of type float64")


class BioTrackV3:
    """Route and answer V3 REST requests."""

    def __init__(self, world: World):
        self.world = world

    def license_of(self, request: Request) -> str | None:
        if request.method == "GET":
            return request.query.get("LocationLicense")
        try:
            body = request.json()
        except ValueError:
            return None
        return body.get("LocationLicense") if isinstance(body, dict) else None

    def handle(self, request: Request) -> Reply:
        path = request.path.rstrip("/")
        if path == "/v1/login" and request.method == "POST":
            return self.login(request)
        if path == "/heartbeat":
            return Reply(200, {"Status": "success"})
        ubi = self.world.session_ubi(self.bearer(request))
        if ubi is None:
            raise error(401, "Unauthorized: the session is invalid or has expired.")
        account = self.world.biotrack_accounts[ubi]
        if path == "/v1/dispense" and request.method == "POST":
            return self.dispense(request, account)
        if path == "/v1/patient/lookup" and request.method == "POST":
            return self.patient_lookup(request, account)
        if path == "/v1/sale" and request.method == "GET":
            return self.list_sales(request, account)
        if path == "/v1/inventory" and request.method == "GET":
            facility = self.location(account, request.query.get("LocationLicense"))
            rows = [
                {"ID": p.tag, "RemainingAmount": p.quantity, "UnitBased": p.unit == "Each"}
                for p in facility.packages.values()
                if p.active and p.quantity > 0
            ]
            return Reply(200, {"Inventory": rows})
        match = re.fullmatch(r"/v1/sale/(\d+)/(void|refund)", path)
        if match:
            return self.change_sale(request, account, int(match.group(1)), match.group(2))
        raise error(404, "Not found.")

    def patient_lookup(self, request: Request, account) -> Reply:
        body = request.json()
        self.location(account, body.get("LocationLicense"))
        if not body.get("CardID"):
            raise error(400, "CardID is required.")
        card = self.world.card(str(body["CardID"]))
        if card is None:
            # [I] What V3 answers for an unknown card is not documented; a 404 is assumed.
            raise error(404, f"Card {body['CardID']} was not found.")
        answer = {
            "CardActive": card.active,
            "Sessiontime": int(time.time()),
            "CardLimit": 229.49762,
            "Privileges": "Qualified Patient (QP)",
            "CardID": card.number,
            "CardKey": card.key,
        }
        if card.expires is not None:
            answer["CardExpiration"] = {
                "Year": f"{card.expires.year}",
                "Month": f"{card.expires.month:02d}",
                "Day": f"{card.expires.day:02d}",
            }
        return Reply(200, answer)

    def bearer(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        return header[7:] if header.startswith("Bearer ") else None

    def login(self, request: Request) -> Reply:
        try:
            body = request.json()
        except ValueError:
            raise error(400, "Invalid JSON.") from None
        account = self.world.biotrack_accounts.get(str(body.get("UBI")))
        if account is None or (body.get("Username"), body.get("Password")) != (
            account.username,
            account.password,
        ):
            raise error(401, "Invalid UBI, username or password.")
        return Reply(200, {"Session": self.world.new_session(str(body["UBI"]))})

    def location(self, account, license) -> Facility:
        if license not in account.licenses:
            raise error(400, f"Location license {license!r} does not belong to this account.")
        return self.world.facilities[license]

    def items(self, facility: Facility, items, *, selling: bool) -> dict[str, Decimal]:
        if not isinstance(items, list) or not items:
            raise error(400, "Items must have at least one item.")
        taken: dict[str, Decimal] = {}
        for index, item in enumerate(items):
            barcode = item.get("Barcode")
            if not isinstance(barcode, str) or not BARCODE.match(barcode):
                raise error(400, f"Items[{index}].Barcode {barcode!r} is not a valid barcode.")
            for field in ("Quantity", "Price"):
                if not is_number(item.get(field)):
                    raise go_type_error(f"Item.Items.{field}", item.get(field))
            if item["Quantity"] <= 0:
                raise error(400, f"Items[{index}].Quantity must be above 0.")
            package = facility.packages.get(barcode)
            if package is None:
                raise error(400, f"Inventory {barcode} is not at this location.")
            taken[barcode] = taken.get(barcode, Decimal(0)) + item["Quantity"]
        if selling:
            for barcode, quantity in taken.items():
                have = facility.packages[barcode].quantity
                if quantity > have:
                    raise error(
                        400,
                        f"Inventory {barcode} has {have} remaining; cannot dispense {quantity}.",
                    )
        return taken

    def dispense(self, request: Request, account) -> Reply:
        try:
            body = request.json()
        except ValueError:
            raise error(400, "Invalid JSON.") from None
        facility = self.location(account, body.get("LocationLicense"))
        if body.get("Type") not in ("RECREATIONAL", "MEDICAL"):
            raise error(400, f"Type {body.get('Type')!r} must be RECREATIONAL or MEDICAL.")
        card = self.patient_card(body)
        when = body.get("Datetime")
        if not isinstance(when, str) or not RFC3339.match(when):
            raise go_time_error(when)
        for field in ("ExternalID", "RequestID"):
            if not isinstance(body.get(field), str) or not body[field]:
                raise error(400, f"{field} is required.")
        with self.world.lock:
            taken = self.items(facility, body.get("Items"), selling=True)
            for barcode, quantity in taken.items():
                facility.packages[barcode].quantity -= quantity
            transaction_id = self.world.next_id()
            # No dedup on RequestID is assumed: a repeated dispense is a second sale.
            facility.sales.append(
                {
                    "TransactionID": transaction_id,
                    "ExternalID": body["ExternalID"],
                    "RequestID": body["RequestID"],
                    "Datetime": when,
                    "Type": body["Type"],
                    "PatientCardID": card.number if card is not None else None,
                    "Voided": False,
                    "Items": [
                        {"Barcode": i["Barcode"], "Quantity": i["Quantity"], "Price": i["Price"]}
                        for i in body["Items"]
                    ],
                }
            )
        answer = {
            "TransactionID": transaction_id,
            "RequestID": body["RequestID"],
            "ExternalID": body["ExternalID"],
        }
        return Reply(200, answer)

    def patient_card(self, body: dict):
        """Return the patient card a medical dispense is against; refuse a wrong or stray key."""
        key = body.get("PatientCardKey")
        if body["Type"] == "RECREATIONAL":
            if key:
                raise error(400, "A recreational sale carries no PatientCardKey.")
            return None
        if not key:
            raise error(400, "PatientCardKey is required for a medical sale.")
        card = self.world.card_by_key(key)
        if card is None:
            raise error(400, "PatientCardKey does not match any card lookup.")
        if card.kind != "patient":
            raise error(
                400, "PatientCardKey is a caregiver's card; dispense against the patient's card."
            )
        return card

    def sale(self, facility: Facility, transaction_id: int) -> dict:
        for sale in facility.sales:
            if int(sale["TransactionID"]) == transaction_id:
                return sale
        raise error(404, f"Sale {transaction_id} was not found.")

    def change_sale(self, request: Request, account, transaction_id: int, change: str) -> Reply:
        body = request.json() or {}
        facility = self.location(account, body.get("LocationLicense"))
        with self.world.lock:
            sale = self.sale(facility, transaction_id)
            if sale["Voided"]:
                raise error(400, f"Sale {transaction_id} is already void.")
            if change == "void":
                for item in sale["Items"]:
                    facility.packages[item["Barcode"]].quantity += item["Quantity"]
                sale["Voided"] = True
                return Reply(200, {"TransactionID": transaction_id})
            back = self.items(facility, body.get("Items"), selling=False)
            sold: dict[str, Decimal] = {}
            for item in sale["Items"]:
                sold[item["Barcode"]] = sold.get(item["Barcode"], Decimal(0)) + item["Quantity"]
            for barcode, quantity in back.items():
                if quantity > sold.get(barcode, Decimal(0)):
                    raise error(
                        400,
                        f"Cannot refund {quantity} of {barcode}: "
                        f"the sale had {sold.get(barcode, 0)}.",
                    )
            for refund in body["Items"]:
                facility.packages[refund["Barcode"]].quantity += refund["Quantity"]
                for item in sale["Items"]:
                    if item["Barcode"] == refund["Barcode"]:
                        item["Quantity"] -= refund["Quantity"]
                        item["Price"] -= refund["Price"]
                        break
            sale["Items"] = [i for i in sale["Items"] if i["Quantity"] > 0]
            refund_id = self.world.next_id()
        return Reply(200, {"TransactionID": refund_id})

    def list_sales(self, request: Request, account) -> Reply:
        facility = self.location(account, request.query.get("LocationLicense"))
        start = request.query.get("StartDate", "0000-00-00")
        end = request.query.get("EndDate", "9999-99-99")
        with self.world.lock:
            rows = [
                {**sale, "Items": [dict(i) for i in sale["Items"]]}
                for sale in facility.sales
                if start <= datetime.fromisoformat(sale["Datetime"]).date().isoformat() <= end
            ]
        return Reply(200, {"Sale": rows})


class BioTrackLegacy:
    """Answer the legacy RPC: one URL, `action` in a JSON body, errors inside HTTP 200."""

    def __init__(self, world: World):
        self.world = world

    def license_of(self, request: Request) -> str | None:
        return None

    def ok(self, **fields) -> Reply:
        body = {"success": 1, **fields, "sessiontime": int(time.time())}
        return self.reply(body)

    def fail(self, message: str, code: str) -> Answer:
        return Answer(self.reply({"success": 0, "error": message, "errorcode": code}))

    def reply(self, body: object) -> Reply:
        reply = Reply(200, body, content_type="text/html")
        if self.world.leak_content_type:
            # Some BioTrack hosts leak a header line into the body.
            reply.body = b"Content-Type: text/plain\n" + reply.payload()
        return reply

    def handle(self, request: Request) -> Reply:
        try:
            body = request.json()
        except ValueError:
            raise self.fail("Invalid JSON.", "1") from None
        if not isinstance(body, dict) or body.get("API") != "4.0":
            raise self.fail("Invalid or missing API version.", "1")
        action = body.get("action")
        if action == "login":
            account = self.world.biotrack_accounts.get(str(body.get("license_number")))
            if account is None or (body.get("username"), body.get("password")) != (
                account.username,
                account.password,
            ):
                raise self.fail("Invalid login.", "3")
            return self.ok(sessionid=self.world.new_session(str(body["license_number"])))
        ubi = self.world.session_ubi(body.get("sessionid"))
        if ubi is None:
            raise self.fail("Your session has expired. Please log in again.", "4")
        account = self.world.biotrack_accounts[ubi]
        nonce = body.get("nonce")
        handlers = {
            "sale_dispense": self.dispense,
            "sale_void": self.void,
            "sale_refund": self.refund,
            "inventory_adjust": self.adjust,
            "sync_sale": self.sync_sale,
            "sync_inventory": self.sync_inventory,
            "nonce_replay": self.nonce_replay,
            "card_lookup": self.card_lookup,
        }
        if action not in handlers:
            raise self.fail(f"Unknown action {action!r}.", "5")
        with self.world.lock:
            if nonce and action != "nonce_replay" and nonce in self.world.nonces:
                # The legacy API answers a repeated nonce with the first answer.
                return self.reply(self.world.nonces[nonce])
            reply = handlers[action](body, account)
            if nonce and action != "nonce_replay":
                self.world.nonces[nonce] = reply.body
        return reply

    def facility_of(self, account, barcode: str) -> Facility:
        for license in account.licenses:
            facility = self.world.facilities[license]
            if barcode in facility.packages:
                return facility
        raise self.fail(f"You do not currently have possession of identifier {barcode}.", "602")

    def dispense(self, body: dict, account) -> Reply:
        data = body.get("data")
        if not isinstance(data, list) or not data:
            raise self.fail("Missing data.", "6")
        if not is_number(body.get("sale_time")):
            raise self.fail("sale_time must be a Unix time.", "6")
        lines = []
        for item in data:
            barcode = str(item.get("barcodeid", ""))
            if not BARCODE.match(barcode):
                raise self.fail(f"Invalid barcodeid {barcode!r}.", "6")
            facility = self.facility_of(account, barcode)
            package = facility.packages[barcode]
            quantity = item.get("quantity")
            if not is_number(quantity) or quantity <= 0:
                raise self.fail(f"Invalid quantity for {barcode}.", "6")
            if quantity > package.quantity:
                raise self.fail(
                    f"Insufficient quantity of {barcode}: {package.quantity} remaining.", "602"
                )
            if not isinstance(item.get("price"), str):
                raise self.fail(f"Invalid price for {barcode}.", "6")
            lines.append((facility, package, quantity, item))
        transaction_id = str(self.world.next_id())
        for facility, package, quantity, item in lines:
            package.quantity -= quantity
            facility.sales.append(
                self.row(transaction_id, transaction_id, facility, item, body["sale_time"])
            )
        return self.ok(transactionid=transaction_id)

    def row(self, tid: str, original: str, facility: Facility, item: dict, when) -> dict:
        return {
            "transactionid": tid,
            "transactionid_original": original,
            "inventoryid": str(item["barcodeid"]),
            "itemnumber": item.get("item_number"),
            "quantity": item["quantity"],
            "price": item["price"],
            "terminal_id": "1",
            "location": facility.license,
            "deleted": 0,
            "sessiontime": int(when),
        }

    def rows_of(self, account, transaction_id: str) -> list[tuple[Facility, dict]]:
        found = []
        for license in account.licenses:
            facility = self.world.facilities[license]
            found += [(facility, r) for r in facility.sales if r["transactionid"] == transaction_id]
        if not found:
            raise self.fail(f"Transaction {transaction_id} was not found.", "7")
        return found

    def void(self, body: dict, account) -> Reply:
        rows = self.rows_of(account, str(body.get("transactionid")))
        if any(row["deleted"] for _, row in rows):
            raise self.fail("Sale has already been voided.", "8")
        for facility, row in rows:
            facility.packages[row["inventoryid"]].quantity += row["quantity"]
            row["deleted"] = 1
        return self.ok(transactionid=str(self.world.next_id()))

    def refund(self, body: dict, account) -> Reply:
        original = str(body.get("transactionid"))
        rows = self.rows_of(account, original)
        refund_id = str(self.world.next_id())
        for item in body.get("data") or []:
            matches = [(f, r) for f, r in rows if r["inventoryid"] == str(item.get("barcodeid"))]
            if not matches or not is_number(item.get("quantity")):
                raise self.fail(f"Item {item.get('barcodeid')} is not on sale {original}.", "9")
            facility, row = matches[0]
            facility.packages[row["inventoryid"]].quantity += item["quantity"]
            facility.sales.append(self.row(refund_id, original, facility, item, row["sessiontime"]))
        return self.ok(transactionid=refund_id)

    def adjust(self, body: dict, account) -> Reply:
        for item in body.get("data") or []:
            barcode = str(item.get("barcodeid", ""))
            facility = self.facility_of(account, barcode)
            removed = Decimal(str(item.get("quantity", "0")))
            package = facility.packages[barcode]
            if removed <= 0 or removed > package.quantity:
                raise self.fail(f"Invalid adjustment quantity for {barcode}.", "602")
            package.quantity -= removed
            facility.adjustments.append(dict(item))
        return self.ok(transactionid=str(self.world.next_id()))

    def card_lookup(self, body: dict, account) -> Reply:
        # [I] The answer's fields are assumed: active (1/0) and the expiry as a date.
        card = self.world.card(str(body.get("card_id") or ""))
        if card is None:
            raise self.fail(f"Card {body.get('card_id')} not found.", "70")
        fields = {"card_id": card.number, "active": 1 if card.active else 0}
        if card.expires is not None:
            fields["expiration_date"] = card.expires.isoformat()
        return self.ok(**fields)

    def sync_sale(self, body: dict, account) -> Reply:
        start = int(body.get("transaction_start") or 0)
        rows = []
        for license in sorted(account.licenses):
            rows += [
                dict(r)
                for r in self.world.facilities[license].sales
                if int(r["transactionid"]) > start
            ]
        return self.ok(sale=rows)

    def sync_inventory(self, body: dict, account) -> Reply:
        rows = []
        for license in sorted(account.licenses):
            for package in self.world.facilities[license].packages.values():
                rows.append({
                    "id": package.tag, "remaining_quantity": package.quantity,
                    "uom": "ea" if package.unit == "Each" else "g", "location": license,
                    "deleted": 0 if package.active else 1,
                })  # fmt: skip
        return self.ok(inventory=rows)

    def nonce_replay(self, body: dict, account) -> Reply:
        stored = self.world.nonces.get(str(body.get("nonce")))
        if stored is None:
            raise self.fail("Nonce not found.", "10")
        return self.reply(stored)
