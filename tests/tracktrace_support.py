"""Helpers for reporting tests: stores pointed at the emulator, sales and adjustments to report."""

import uuid
from decimal import Decimal

from extensions import db
from models.base import utcnow
from models.catalog.products import Product
from models.sales.orders import Order, OrderLine
from models.stock.management import receive
from models.stock.packages import Package, StockMovement
from support import store_today

VENDOR_KEY = "integrator-key-test"
USER_KEY = "user-key-test"
UBI = "403123456"
BT_USER = "pistil@example.com"
BT_PASSWORD = "bt-password-test"

# Fast settings for tests: short timeouts and backoff, a high budget unless a test lowers it.
FAST = {
    "TRACKTRACE_CONNECT_TIMEOUT": 1.0,
    "TRACKTRACE_READ_TIMEOUT": 0.5,
    "TRACKTRACE_RATE_PER_LICENSE": 1000.0,
    "TRACKTRACE_LEASE_SECONDS": 30.0,
    "TRACKTRACE_BACKOFF_SECONDS": 30.0,
}


def metrc_tag(n: int) -> str:
    """Return a 24-character Metrc package label."""
    return f"1A4FF0100000022000{n:06d}"


def biotrack_tag(n: int) -> str:
    """Return a 16-digit BioTrack barcode."""
    return f"66471234{n:08d}"


def point_at_metrc(store, emulator, *, user_key: str = USER_KEY, register: bool = True):
    """Point a store at the emulator's Metrc and give it keys the emulator knows."""
    store.tracktrace_system = "metrc"
    store.tracktrace_dry_run = False
    store.tracktrace_license = store.license_number
    store.tracktrace_base_url = emulator.url
    store.set_tracktrace_credentials({"vendor_key": VENDOR_KEY, "user_key": user_key})
    db.session.commit()
    if register:
        emulator.world.add_metrc_facility(
            store.license_number, vendor_key=VENDOR_KEY, user_key=USER_KEY, name=store.name
        )
    return store


def point_at_biotrack(store, emulator, *, api: str = "v3"):
    """Point a store at the emulator's BioTrack (the V3 REST API or the legacy RPC)."""
    store.tracktrace_system = "biotrack"
    store.tracktrace_dry_run = False
    store.tracktrace_license = store.license_number
    store.tracktrace_base_url = emulator.url if api == "v3" else emulator.legacy_url
    store.set_tracktrace_credentials(
        {"ubi": UBI, "username": BT_USER, "password": BT_PASSWORD, "api": api}
    )
    db.session.commit()
    emulator.world.add_biotrack_location(
        store.license_number, ubi=UBI, username=BT_USER, password=BT_PASSWORD
    )
    return store


def stock(store, emulator, tag: str, quantity: int, unit: str = "each", *, at_state=True):
    """Receive a package here and, unless told not to, put it on the state's books too."""
    product = Product(
        store_id=store.id,
        sku=f"SKU-{uuid.uuid4().hex[:6]}",
        name=f"Product {tag[-4:]}",
        brand="Test Farms",
        category="flower" if unit == "grams" else "edible",
        limit_category="flower" if unit == "grams" else "edible",
        strain_type="hybrid",
        net_weight_mg=3500,
        thc_pct_bp=2000,
        price_cents=3500,
    )
    db.session.add(product)
    db.session.flush()
    package = receive(product, tag=tag, quantity=quantity, unit=unit, received_on=store_today())
    db.session.commit()
    if at_state:
        state_unit = "Each" if unit == "each" else "Grams"
        amount = Decimal(quantity) if unit == "each" else Decimal(quantity) / 1000
        license_number = store.tracktrace_license or store.license_number
        emulator.world.add_package(license_number, tag, amount, state_unit)
    return package


def complete_sale(store, lines: list[tuple[Package, int, int]], *, customer=None, medical=False):
    """Write a completed sale (package, quantity, line total in cents) without reporting it."""
    now = utcnow()
    order = Order(
        store_id=store.id,
        channel="register",
        status="completed",
        customer_id=customer.id if customer else None,
        customer_class="medical" if medical else "adult_use",
        completed_at=now,
        business_date=store.business_date(now),
    )
    for package, quantity, cents in lines:
        order.lines.append(
            OrderLine(
                product_id=package.product_id,
                package_id=package.id,
                name=package.product.name,
                brand=package.product.brand,
                sku=package.product.sku,
                category=package.product.category,
                package_tag=package.tag,
                quantity=quantity,
                unit="each" if package.unit == "each" else "mg",
                unit_price_cents=cents // max(1, quantity if package.unit == "each" else 1),
                line_total_cents=cents,
            )
        )
        package.quantity -= quantity
        db.session.add(
            StockMovement(
                store_id=store.id,
                package_id=package.id,
                kind="sale",
                delta=-quantity,
                quantity_after=package.quantity,
            )
        )
    order.subtotal_cents = order.total_cents = sum(c for _, _, c in lines)
    db.session.add(order)
    db.session.flush()
    return order


def adjust(store, package: Package, delta: int, reason: str | None, note: str | None = None):
    """Write a package adjustment movement without reporting it."""
    package.quantity += delta
    movement = StockMovement(
        store_id=store.id,
        package_id=package.id,
        kind="adjustment",
        delta=delta,
        quantity_after=package.quantity,
        reason_code=reason,
        note=note,
    )
    db.session.add(movement)
    db.session.flush()
    return movement
