"""`flask seed-demo`: a two-store demo chain that loads again without duplicating anything."""

from dataclasses import dataclass
from datetime import date, timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from extensions import db
from models.catalog.products import Product
from models.demo.catalog import CATALOG
from models.people.customers import Customer, find_by_medical_card
from models.people.medical_cards import seed_verified
from models.people.users import StoreMembership, User
from models.stock.management import receive
from models.stock.packages import Package
from models.stores.store import Store

# Published demo credentials (README), not secrets.
STAFF_PASSWORD = "pistil-demo-2026"  # noqa: S105
CUSTOMER_PASSWORD = "customer-demo-2026"  # noqa: S105

STORES = (
    {
        "code": "abq-nob-hill",
        "name": "Pistil Nob Hill",
        "license_number": "CCD-RET-2022-0412",
        "state": "NM",
        "timezone": "America/Denver",
        "street": "3401 Central Ave NE",
        "city": "Albuquerque",
        "postal_code": "87106",
        "phone": "505-555-0142",
        "hours": {"summary": "Open daily 8 am – 11 pm"},
        "sells_adult_use": True,
        "sells_medical": True,
        "rule_pack": "NM",
        "local_tax_rates_bp": {"gross_receipts": "787.5"},
        "tracktrace_system": "biotrack",
        "tracktrace_license": "402-00412",
    },
    {
        "code": "den-rino",
        "name": "Pistil RiNo",
        "license_number": "402R-00123",
        "state": "CO",
        "timezone": "America/Denver",
        "street": "2650 Walnut St",
        "city": "Denver",
        "postal_code": "80205",
        "phone": "303-555-0188",
        "hours": {"summary": "Open daily 8 am – 10 pm"},
        "sells_adult_use": True,
        "sells_medical": False,
        "rule_pack": "CO",
        "local_tax_rates_bp": {"local_sales": "481", "local_marijuana": "550"},
        "tracktrace_system": "metrc",
        "tracktrace_license": "402R-00123",
    },
)

# Colorado prices run a little higher than New Mexico's in the demo, as on real shelves.
PRICE_FACTOR_PERCENT = {"NM": 100, "CO": 110}


@dataclass(frozen=True)
class DemoStaff:
    """A demo staff login."""

    email: str
    name: str
    pin: str
    role: str
    store_code: str


STAFF = (
    DemoStaff("maria@nm.pistil.demo", "Maria Chavez", "2468", "manager", "abq-nob-hill"),
    DemoStaff("diego@nm.pistil.demo", "Diego Martinez", "1357", "budtender", "abq-nob-hill"),
    DemoStaff("ashley@nm.pistil.demo", "Ashley Begay", "8642", "budtender", "abq-nob-hill"),
    DemoStaff("jordan@co.pistil.demo", "Jordan Reyes", "3690", "manager", "den-rino"),
    DemoStaff("sam@co.pistil.demo", "Sam Kowalski", "1470", "budtender", "den-rino"),
    DemoStaff("priya@co.pistil.demo", "Priya Natarajan", "2580", "budtender", "den-rino"),
    DemoStaff("owner@pistil.demo", "Alex Moreno", "9753", "admin", "*"),
)


def _metrc_tag(serial: int) -> str:
    """Return a Metrc package tag: 24 characters, 1A4 prefix, facility block, serial."""
    return f"1A4060300003E9D{serial:09d}"


def _biotrack_tag(serial: int) -> str:
    """Return a BioTrack barcode: 16 digits."""
    return f"61240300{serial:08d}"


def _tag(store: Store, serial: int) -> str:
    return _metrc_tag(serial) if store.tracktrace_system == "metrc" else _biotrack_tag(serial)


def _upsert_store(data: dict) -> Store:
    store = db.session.scalar(select(Store).where(Store.code == data["code"]))
    if store is None:
        store = Store(**data)
        db.session.add(store)
    return store


def _upsert_staff(person: DemoStaff, stores: list[Store]) -> User:
    user = db.session.scalar(select(User).where(User.email == person.email))
    if user is None:
        user = User(email=person.email, name=person.name)
        user.set_password(STAFF_PASSWORD)
        user.set_pin(person.pin)
        db.session.add(user)
        db.session.flush()
    for store in stores:
        if person.store_code not in ("*", store.code):
            continue
        exists = db.session.scalar(
            select(StoreMembership.id).where(
                StoreMembership.user_id == user.id, StoreMembership.store_id == store.id
            )
        )
        if not exists:
            db.session.add(StoreMembership(user_id=user.id, store_id=store.id, role=person.role))
    return user


def _seed_products(store: Store, today: date) -> None:
    factor = PRICE_FACTOR_PERCENT[store.state]
    serial = 1000 if store.tracktrace_system == "metrc" else 5000
    for index, item in enumerate(CATALOG):
        product = db.session.scalar(
            select(Product).where(Product.store_id == store.id, Product.sku == item.sku)
        )
        if product is None:
            product = Product(
                store_id=store.id,
                sku=item.sku,
                name=item.name,
                brand=item.brand,
                category=item.category,
                limit_category=item.limit_category,
                strain_type=item.strain_type,
                strain=item.strain,
                thc_pct_bp=item.thc_pct_bp,
                cbd_pct_bp=item.cbd_pct_bp,
                thc_mg=item.thc_mg,
                cbd_mg=item.cbd_mg,
                net_weight_mg=item.net_weight_mg,
                sold_by=item.sold_by,
                price_cents=item.price_cents * factor // 100,
                description=item.description,
            )
            db.session.add(product)
            db.session.flush()
        for n in range(item.packages):
            tag = _tag(store, serial + index * 10 + n)
            exists = db.session.scalar(
                select(Package.id).where(Package.store_id == store.id, Package.tag == tag)
            )
            if exists:
                continue
            received = today - timedelta(days=20 + 7 * n + index % 5)
            shelf_life = 120 if item.category in ("edible", "beverage") else 365
            receive(
                product,
                tag=tag,
                quantity=item.units_per_package,
                unit="grams" if item.sold_by == "weight" else "each",
                received_on=received,
                # The second package of each product is older and expires first (FEFO demo).
                expires_on=received + timedelta(days=shelf_life - 60 * n),
                lab_status="pending" if item.sku == "FL-NL-35" and n == 0 else "passed",
            )


def _customer(key: dict, **fields) -> Customer:
    """Find a demo customer by email or card, or create it."""
    customer = None
    if "email" in key:
        customer = db.session.scalar(select(Customer).where(Customer.email == key["email"]))
    elif "card" in key:
        customer = find_by_medical_card(key["card"])
    if customer is not None:
        return customer
    customer = Customer(**fields)
    if "email" in key:
        customer.email = key["email"]
        customer.set_password(CUSTOMER_PASSWORD)
    if "card" in key:
        customer.medical_card_number = key["card"]
    db.session.add(customer)
    db.session.flush()
    return customer


def _seed_customers(today: date) -> None:
    def years_ago(years: int, days: int = 0) -> date:
        return date(today.year - years, today.month, min(today.day, 28)) - timedelta(days=days)

    _customer(
        {"email": "lucia@example.com"},
        first_name="Lucía",
        last_name="Romero",
        date_of_birth=years_ago(34),
        phone="505-555-0101",
        resident_state="NM",
        id_state="NM",
        id_expires=today + timedelta(days=900),
    )
    patient = _customer(
        {"card": "NM-MCP-448812"},
        first_name="Tomás",
        last_name="Herrera",
        date_of_birth=years_ago(67),
        phone="505-555-0117",
        kind="medical",
        medical_card_state="NM",
        medical_card_expires=today + timedelta(days=240),
        resident_state="NM",
        id_state="NM",
        id_expires=today + timedelta(days=400),
    )
    _customer(
        {"card": "NM-CG-103377"},
        first_name="Rosa",
        last_name="Herrera",
        date_of_birth=years_ago(41),
        phone="505-555-0118",
        kind="caregiver",
        medical_card_state="NM",
        medical_card_expires=today + timedelta(days=300),
        resident_state="NM",
        caregiver_for_id=patient.id,
        id_state="NM",
        id_expires=today + timedelta(days=1200),
    )
    _customer(
        {"card": "NM-MCP-551904"},
        first_name="Jade",
        last_name="Yazzie",
        date_of_birth=years_ago(19, 40),
        kind="medical",
        medical_card_state="NM",
        medical_card_expires=today + timedelta(days=180),
        resident_state="NM",
        id_state="NM",
        id_expires=today + timedelta(days=700),
    )
    _customer(
        {"email": "kevin.obrien@example.com"},
        first_name="Kevin",
        last_name="O'Brien",
        date_of_birth=years_ago(29),
        resident_state="TX",
        id_state="TX",
        id_expires=today + timedelta(days=500),
    )
    _customer(
        {"email": "emily.park@example.com"},
        first_name="Emily",
        last_name="Park",
        date_of_birth=years_ago(26),
        phone="303-555-0150",
        resident_state="CO",
        id_state="CO",
        id_expires=today + timedelta(days=1500),
    )
    _customer(
        {"email": "marcus.lee@example.com"},
        first_name="Marcus",
        last_name="Lee",
        date_of_birth=years_ago(45),
        resident_state="IL",
        id_state="IL",
        id_expires=today + timedelta(days=365),
    )


def _seed_card_checks(stores: list[Store], staff: dict[str, User]) -> None:
    """Mark the demo patients' cards as checked at the counter by their store's manager."""
    # Demo data only: a real card is checked by a person at the register
    # (models.people.medical_cards).
    for store in stores:
        if not store.sells_medical:
            continue
        person = next(p for p in STAFF if p.store_code == store.code and p.role == "manager")
        patients = db.session.scalars(
            select(Customer).where(
                Customer.kind != "adult_use", Customer.medical_card_state == store.state
            )
        )
        for patient in patients:
            seed_verified(store, patient, staff[person.email])


def seed_demo() -> None:
    """Create or complete the demo chain; existing rows are found by natural key and left alone."""
    stores = [_upsert_store(data) for data in STORES]
    db.session.flush()
    staff = {person.email: _upsert_staff(person, stores) for person in STAFF}
    for store in stores:
        _seed_products(store, store.business_date())
    _seed_customers(stores[0].business_date())
    db.session.flush()
    _seed_card_checks(stores, staff)
    db.session.commit()


def database_is_empty() -> bool:
    """Return whether no store exists yet."""
    return db.session.scalar(select(func.count(Store.id))) == 0


def credentials_text() -> str:
    """Return the demo logins as a table for the terminal."""
    lines = [
        "Demo logins (staff password for everyone: " + STAFF_PASSWORD + ")",
        f"  {'email':<26} {'role':<10} {'PIN':<5} store",
    ]
    for person in STAFF:
        store = "both stores" if person.store_code == "*" else person.store_code
        lines.append(f"  {person.email:<26} {person.role:<10} {person.pin:<5} {store}")
    lines.append(
        f"Customers online: lucia@example.com (NM), emily.park@example.com (CO) — "
        f"password {CUSTOMER_PASSWORD}"
    )
    return "\n".join(lines)


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only seed when the database has no store yet.")
@with_appcontext
def seed_demo_command(if_empty: bool) -> None:
    """Load the demo chain: two stores, their staff, menu, packages and customers."""
    if if_empty and not database_is_empty():
        click.echo("Database already has data; demo not loaded again.")
    else:
        seed_demo()
        counts = {
            "stores": db.session.scalar(select(func.count(Store.id))),
            "products": db.session.scalar(select(func.count(Product.id))),
            "packages": db.session.scalar(select(func.count(Package.id))),
            "customers": db.session.scalar(select(func.count(Customer.id))),
        }
        click.echo("Demo chain ready: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    click.echo(credentials_text())
