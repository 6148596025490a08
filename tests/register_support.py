"""Builders shared by the register tests: products, packages, checked-in sales, license text."""

import itertools
import json
from datetime import date, timedelta

from extensions import db
from models.base import utcnow
from models.catalog.products import Product
from models.sales.orders import Order
from models.stock.management import receive
from models.stock.packages import Package
from support import store_today, years_before

_serial = itertools.count(1)


def make_product(store, **overrides) -> Product:
    """Create a product: a 3.5 g flower jar unless told otherwise."""
    n = next(_serial)
    fields = {
        "store_id": store.id,
        "sku": f"SKU-{n}",
        "name": f"Blue Dream 3.5g #{n}",
        "brand": "Test Farms",
        "category": "flower",
        "limit_category": "flower",
        "strain_type": "sativa",
        "net_weight_mg": 3500,
        "thc_pct_bp": 2000,
        "thc_mg": 700,
        "price_cents": 3500,
    }
    fields.update(overrides)
    product = Product(**fields)
    db.session.add(product)
    db.session.commit()
    return product


def make_package(product, quantity: int = 10, tag: str | None = None, **overrides) -> Package:
    """Receive a package of a product (each units, or milligrams for bulk)."""
    n = next(_serial)
    package = receive(
        product,
        tag=tag or f"1A4060300003E9D{n:09d}",
        quantity=quantity,
        unit="grams" if product.sold_by == "weight" else "each",
        received_on=overrides.pop("received_on", store_today() - timedelta(days=10)),
        expires_on=overrides.pop("expires_on", store_today() + timedelta(days=200)),
        lab_status=overrides.pop("lab_status", "passed"),
    )
    for key, value in overrides.items():
        setattr(package, key, value)
    db.session.commit()
    return package


def open_sale(store, user, customer=None, customer_class: str = "adult_use") -> Order:
    """Create a checked-in open register sale, as a check-in would."""
    order = Order(
        store_id=store.id,
        channel="register",
        status="open",
        customer_id=customer.id if customer else None,
        customer_class=customer_class,
        budtender_id=user.id,
        id_checked_at=utcnow(),
        tax_lines=[],
    )
    db.session.add(order)
    db.session.commit()
    return order


def license_text(
    *,
    first: str = "MICHAEL",
    last: str = "SAMPLE",
    birth: date | None = None,
    expires: date | None = None,
    number: str = "T64235789",
    state: str = "CO",
    separator: str = "\n",
) -> str:
    """Return the AAMVA text a scanner types for a US license (version 10, dates MMDDCCYY)."""
    birth = birth or years_before(store_today(), 30)
    expires = expires or store_today() + timedelta(days=700)
    elements = [
        f"DAQ{number}",
        f"DCS{last}",
        "DDEN",
        f"DAC{first}",
        "DDFN",
        "DADJOHN",
        f"DBD{store_today():%m%d%Y}",
        f"DBB{birth:%m%d%Y}",
        f"DBA{expires:%m%d%Y}",
        "DBC1",
        "DAU068 in",
        "DAG2300 WEST BROAD STREET",
        "DAIDENVER",
        f"DAJ{state}",
        "DAK802050000  ",
        "DCGUSA",
    ]
    header = "@\n\x1e\rANSI 636020100102DL00410278ZC03190008DL"
    return header + separator.join(elements) + "\rZCZCA01\r"


def hx_location(response) -> str:
    """Return the path an htmx response navigates to."""
    return json.loads(response.headers["HX-Location"])["path"]


def last_sale_id(response) -> int:
    """Return the order id in the sale URL a check-in navigates to."""
    return int(hx_location(response).rstrip("/").split("/")[-1])
