"""The storefront front door: age gate, store picker, a menu that matches the shelf."""

from datetime import timedelta

import pytest

from extensions import db
from models.base import utcnow
from models.catalog.products import Product
from models.sales.orders import Order
from models.stock.management import receive
from models.stock.packages import Package, Reservation
from support import store_today


@pytest.fixture
def shelf(store):
    def add(name, category, quantity, **extra):
        product = Product(
            store_id=store.id, sku=name[:10], name=name, brand="Test Farms", category=category,
            limit_category=None if category == "accessory" else category,
            net_weight_mg=3500, thc_pct_bp=2000, price_cents=3000, **extra,
        )  # fmt: skip
        db.session.add(product)
        db.session.flush()
        if quantity == 0:
            db.session.add(Package(store_id=store.id, product_id=product.id, tag=f"TAG-{name}",
                                   quantity=0, unit="each", received_on=store_today()))  # fmt: skip
        elif quantity is not None:
            receive(product, tag=f"TAG-{name}", quantity=quantity, unit="each",
                            received_on=store_today())  # fmt: skip
        db.session.commit()
        return product

    return add


def test_age_gate_first_then_the_store_picker(client, store):
    assert "Welcome to Pistil" in client.get("/").get_data(as_text=True)
    assert client.get(f"/stores/{store.code}").status_code == 302
    response = client.post("/age", data={"answer": "yes"})
    assert response.status_code == 303
    page = client.get("/").get_data(as_text=True)
    assert store.name in page and "Choose your store" in page


def test_saying_no_at_the_gate_keeps_you_out(htmx_client, client, store):
    response = htmx_client.post("/age", data={"answer": "no"})
    assert "you must be 21 or older" in response.get_data(as_text=True)
    assert client.get(f"/stores/{store.code}").status_code == 302


def test_menu_shows_what_is_on_the_shelf(client, htmx_client, store, shelf):
    shelf("Blue Dream", "flower", 10)
    shelf("Sold Out Kush", "flower", 0)
    shelf("Never Received", "flower", None)
    shelf("Hidden Gummies", "edible", 5, online_visible=False)
    shelf("Grinder", "accessory", 3)
    client.post("/age", data={"answer": "yes"})
    page = client.get(f"/stores/{store.code}").get_data(as_text=True)
    assert "Blue Dream" in page and "Grinder" in page
    assert "Sold Out Kush" not in page and "Never Received" not in page
    assert "Hidden Gummies" not in page

    htmx_client.post("/age", data={"answer": "yes"})
    fragment = htmx_client.get(f"/stores/{store.code}?category=accessory").get_data(as_text=True)
    assert "<html" not in fragment
    assert "Grinder" in fragment and "Blue Dream" not in fragment


def test_online_holds_lower_what_the_menu_offers(client, store, shelf):
    product = shelf("Last Units", "flower", 2)
    order = Order(store_id=store.id, channel="web", status="placed")
    db.session.add(order)
    db.session.flush()
    package = product.packages[0]
    db.session.add(Reservation(order_id=order.id, package_id=package.id, quantity=2,
                               expires_at=utcnow() + timedelta(minutes=10)))  # fmt: skip
    db.session.commit()
    client.post("/age", data={"answer": "yes"})
    assert "Last Units" not in client.get(f"/stores/{store.code}").get_data(as_text=True)


def test_unknown_store_is_404(client):
    client.post("/age", data={"answer": "yes"})
    assert client.get("/stores/nowhere").status_code == 404
