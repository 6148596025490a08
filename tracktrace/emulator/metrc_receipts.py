"""Emulated Metrc v2: the checks a sales receipt must pass, with Metrc's own messages."""

import re
from decimal import Decimal

from models.infra.crypto import normalize_identifier
from tracktrace.emulator.http import is_number
from tracktrace.emulator.world import Facility, World

LABEL = re.compile(r"^[0-9A-Z]{24}$")
LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?$")
CUSTOMER_TYPES = ("Consumer", "Patient", "Caregiver", "ExternalPatient")
UNITS = ("Each", "Grams", "Milligrams", "Kilograms", "Ounces", "Pounds", "Liters")


def check_transactions(
    facility: Facility, receipt: dict, row: int, errors: list[tuple[int, str]]
) -> dict[str, Decimal]:
    """Validate a receipt's lines; return the quantity each package would lose."""
    transactions = receipt.get("Transactions")
    taken: dict[str, Decimal] = {}
    if not isinstance(transactions, list) or not transactions:
        errors.append((row, "A sales receipt must have at least one transaction."))
        return taken
    for item in transactions:
        label = item.get("PackageLabel")
        if not isinstance(label, str) or not LABEL.match(label):
            errors.append((row, f"Package label {label!r} is not a valid Metrc tag."))
            continue
        package = facility.packages.get(label)
        if package is None or not package.active:
            errors.append((row, f"Package {label} is not an active package of this facility."))
            continue
        quantity, unit = item.get("Quantity"), item.get("UnitOfMeasure")
        if not is_number(quantity) or quantity <= 0:
            errors.append((row, f"Quantity for package {label} must be a number above 0."))
            continue
        if unit not in UNITS:
            errors.append((row, f"Unit of measure {unit!r} is not a valid unit."))
            continue
        if unit != package.unit:
            errors.append(
                (
                    row,
                    f"Unit of measure {unit} does not match package {label} ({package.unit}).",
                )
            )
            continue
        if not is_number(item.get("TotalAmount")) or item["TotalAmount"] < 0:
            errors.append((row, f"TotalAmount for package {label} must be a number."))
            continue
        taken[label] = taken.get(label, Decimal(0)) + quantity
    for label, quantity in taken.items():
        have = facility.packages[label].quantity
        if quantity > have:
            errors.append(
                (
                    row,
                    f"Package {label} has {have} {facility.packages[label].unit}; "
                    f"cannot sell {quantity}.",
                )
            )
    return taken


def check_receipt(world: World, receipt: dict, row: int, errors: list[tuple[int, str]]) -> None:
    """Validate a receipt's time, customer type and customer numbers."""
    if not isinstance(receipt, dict):
        errors.append((row, "Each receipt must be an object."))
        return
    when = receipt.get("SalesDateTime")
    if not isinstance(when, str) or not LOCAL_TIME.match(when):
        errors.append(
            (
                row,
                f"SalesDateTime {when!r} must be the facility's local time without an offset.",
            )
        )
    kind = receipt.get("SalesCustomerType")
    if kind not in CUSTOMER_TYPES:
        errors.append((row, f"SalesCustomerType {kind!r} is not valid."))
    for problem in customer_problems(world, kind, receipt):
        errors.append((row, problem))


def customer_problems(world: World, kind: object, receipt: dict) -> list[str]:
    """Check the patient and caregiver numbers against the customer type and the registry."""
    # Messages never repeat a license number: they end up in logs and on screens.
    patient = receipt.get("PatientLicenseNumber")
    caregiver = receipt.get("CaregiverLicenseNumber")
    if kind == "Consumer":
        if patient or caregiver:
            return ["A consumer sale carries no patient or caregiver license number."]
        return []
    if kind not in ("Patient", "Caregiver", "ExternalPatient"):
        return []
    if not patient:
        return ["PatientLicenseNumber is required for a patient sale."]
    problems = []
    registered = world.card(patient, "patient")
    if kind != "ExternalPatient" and (registered is None or not registered.active):
        problems.append("PatientLicenseNumber is not an active patient on the registry.")
    if kind == "Caregiver":
        if not caregiver:
            return [*problems, "CaregiverLicenseNumber is required for a caregiver sale."]
        card = world.card(caregiver, "caregiver")
        if card is None or not card.active:
            problems.append("CaregiverLicenseNumber is not an active caregiver.")
        elif normalize_identifier(patient) not in card.patients:
            problems.append("The caregiver is not designated for this patient.")
    elif caregiver:
        problems.append("Only a caregiver sale carries a CaregiverLicenseNumber.")
    return problems
