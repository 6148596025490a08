"""Load the stores' licenses, credentials, packages and checked cards into an emulator."""

from decimal import Decimal

from sqlalchemy import select

from extensions import db
from models.people.customers import Customer
from models.stock.packages import Package
from models.stores.store import Store
from tracktrace.emulator.world import World


def seed_from_database(world: World) -> list[str]:
    """Give every store with credentials a facility holding its packages; describe what was done."""
    done = []
    for store in db.session.scalars(select(Store).order_by(Store.id)):
        credentials = store.tracktrace_credentials()
        license_number = store.tracktrace_license or store.license_number
        if store.tracktrace_system == "metrc" and credentials.get("user_key"):
            world.add_metrc_facility(
                license_number,
                vendor_key=credentials["vendor_key"],
                user_key=credentials["user_key"],
                name=store.name,
            )
        elif store.tracktrace_system == "biotrack" and credentials.get("username"):
            world.add_biotrack_location(
                license_number,
                ubi=credentials["ubi"],
                username=credentials["username"],
                password=credentials["password"],
                name=store.name,
            )
        else:
            done.append(f"{store.code}: no credentials, skipped")
            continue
        packages = db.session.scalars(select(Package).where(Package.store_id == store.id)).all()
        for package in packages:
            if package.unit == "each":
                world.add_package(license_number, package.tag, Decimal(package.quantity), "Each")
            else:
                grams = Decimal(package.quantity) / 1000
                world.add_package(license_number, package.tag, grams, "Grams")
        done.append(f"{store.code}: license {license_number}, {len(packages)} packages")
    done.append(f"medical registry: {register_cards(world)} checked cards")
    return done


def register_cards(world: World) -> int:
    """Put the checked medical and caregiver cards on the registry, as the state keeps it."""
    # Only cards a person checked go in the state's registry: a card merely claimed online
    # (made up, perhaps) must not come back "active" in a trial.
    holders = db.session.scalars(
        select(Customer).where(
            Customer.kind != "adult_use",
            Customer.card_verified_at.is_not(None),
            Customer.medical_card_hash.is_not(None),
        )
    ).all()
    cards = {c.id: c.medical_card_number or "" for c in holders}
    for holder in holders:
        if holder.kind == "medical":
            world.register_patient(cards[holder.id], expires=holder.medical_card_expires)
    for holder in holders:
        if holder.kind == "caregiver":
            patient = cards.get(holder.caregiver_for_id or 0)
            world.register_caregiver(
                cards[holder.id],
                *([patient] if patient else []),
                expires=holder.medical_card_expires,
            )
    return len(cards)
