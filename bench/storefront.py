"""Time the online menu on a 2,000-product store: the menu page, filter updates, placing orders.

Seeds one Colorado store with 2,000 products (two packages each, some of them held by open
online orders), then drives the real endpoints with Flask's test client: the full menu page, the
htmx filter and search updates, a product page, adding to the cart, and placing an order (stock
locked, limits and taxes checked, holds written). It prints p50/p95 server time per action beside
a bare Flask endpoint and one indexed read measured in the same run, the ratio to them, and the
first page load's size gzip-compressed (HTML, CSS, htmx, app.js and the images it shows).

Run: .venv/bin/python bench/storefront.py [--products 2000] [--runs 300] [--orders 150]
     [--database-url postgresql://postgres@127.0.0.1:5432/pistil_bench]
The PostgreSQL database named is emptied first; without one a temporary SQLite file is used.
"""

import argparse
import gzip
import random
import re
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

# Replace the script's folder on the path: bench/limits.py would shadow the `limits` package.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import insert, text  # noqa: E402

from bench.common import config, fresh_database, percentile  # noqa: E402

PASSWORD = "bench-password-1"
ORDERS_PER_BUYER = 3
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
STATIC = re.compile(r'(?:src|href)="(/static/[^"]+)"')
SLOT = re.compile(r'name="slot" value="([^"]+)"(?! disabled)')
KEY = re.compile(r'name="idempotency_key" type="hidden" value="([0-9a-f]{32})"')
# category, limit category, net weight mg, THC mg per unit, price cents, sold by
CATEGORIES = (
    ("flower", "flower", 3500, 700, 3500, "each"),
    ("flower", "flower", None, None, 900, "weight"),
    ("preroll", "preroll", 1000, 210, 1200, "each"),
    ("vape", "vape", 500, 440, 3000, "each"),
    ("concentrate", "concentrate", 1000, 780, 4000, "each"),
    ("edible", "edible", 40000, 100, 1800, "each"),
    ("beverage", "beverage", 355000, 10, 900, "each"),
    ("tincture", "tincture", 30000, 300, 4500, "each"),
    ("topical", "topical", 56700, 250, 3200, "each"),
    ("accessory", None, None, None, 900, "each"),
)
STRAINS = ("indica", "sativa", "hybrid", "cbd")
BRANDS = [f"Brand {c}" for c in "ABCDEFGHIJKLMNOPQRST"]
WORDS = ("Blue", "Dream", "Haze", "Kush", "Cake", "Diesel", "Lemon", "Cherry", "Mango", "Gelato")
FILTERS = (
    {"strain": "indica"},
    {"strain": ["sativa", "hybrid"], "thc_min": "20"},
    {"category": "edible", "price_max": "25"},
    {"brand": "Brand C", "sort": "price_low"},
    {"thc_min": "15", "thc_max": "25", "sort": "thc_high"},
    {"category": "flower", "strain": "hybrid", "sort": "price_high"},
    {"price_min": "20", "price_max": "60"},
    {"filtered": "1", "sort": "name"},
)


def seed(db, products: int, buyers: int) -> dict:
    """Insert the store, the catalog, two packages per product, open holds and shoppers."""
    from models.catalog.products import Product
    from models.people.customers import Customer
    from models.sales.orders import Order
    from models.stock.packages import Package, Reservation
    from models.stores.store import Store

    rng = random.Random(20261128)
    now = datetime.now(UTC)
    today = date.today()
    store = Store(
        code="bench", name="Bench Store", license_number="402R-BENCH", state="CO",
        timezone="America/Denver", street="1 Bench St", city="Denver", postal_code="80202",
        rule_pack="CO", tracktrace_system="metrc", local_tax_rates_bp={"local_sales": "481"},
        hours={"summary": "Open daily", "daily": ["00:00", "23:30"]},
        pickup_slot_capacity=100_000, pickup_lead_minutes=0,
    )  # fmt: skip
    db.session.add(store)
    # Shoppers take turns so each has a couple of unfinished orders, as real customers do.
    for n in range(buyers):
        customer = Customer(
            first_name="Bench", last_name=f"Buyer {n}", email=f"buyer{n}@example.com",
            date_of_birth=date(1985, 5, 5), resident_state="CO",
        )  # fmt: skip
        customer.set_password(PASSWORD)
        db.session.add(customer)
    db.session.flush()
    rows = []
    for n in range(products):
        category, limit, weight, thc, price, sold_by = CATEGORIES[n % len(CATEGORIES)]
        strain = "none" if category == "accessory" else STRAINS[n % 4]
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} #{n}"
        rows.append({
            "store_id": store.id, "sku": f"B-{n:05d}", "name": name, "brand": BRANDS[n % 20],
            "category": category, "limit_category": limit, "strain_type": strain,
            "strain": name.split(" #")[0], "net_weight_mg": weight, "thc_mg": thc,
            "thc_pct_bp": rng.randrange(800, 3200) if category in ("flower", "preroll") else None,
            "sold_by": sold_by, "price_cents": price + rng.randrange(0, 4000, 50),
            "description": "", "online_visible": True, "active": True,
            "created_at": now, "updated_at": now,
        })  # fmt: skip
    db.session.execute(insert(Product), rows)
    product_ids = [p for (p,) in db.session.execute(text("SELECT id FROM product ORDER BY id"))]
    packages = []
    for n, product_id in enumerate(product_ids):
        by_weight = CATEGORIES[n % len(CATEGORIES)][5] == "weight"
        for k in range(2):
            packages.append({
                "store_id": store.id, "product_id": product_id,
                "tag": f"1A4060300003E9D{n * 2 + k:09d}", "quantity": 500_000 if by_weight else 500,
                "unit": "grams" if by_weight else "each", "lab_status": "passed",
                "on_hold": False, "received_on": today - timedelta(days=30),
                "expires_on": today + timedelta(days=200 + k * 30),
                "created_at": now, "updated_at": now,
            })  # fmt: skip
    db.session.execute(insert(Package), packages)
    db.session.execute(
        text(
            "INSERT INTO stock_movement (store_id, package_id, kind, delta, quantity_after, "
            "created_at) SELECT store_id, id, 'receive', quantity, quantity, :now FROM package"
        ),
        {"now": now},
    )
    # Open online orders hold stock across the catalog, so the menu subtracts real holds.
    holder = Order(store_id=store.id, channel="web", status="placed", tax_lines=[])
    db.session.add(holder)
    db.session.flush()
    package_ids = [p for (p,) in db.session.execute(text("SELECT id FROM package"))]
    db.session.execute(
        insert(Reservation),
        [
            {
                "order_id": holder.id,
                "package_id": pid,
                "quantity": 1,
                "expires_at": now + timedelta(hours=2),
                "created_at": now,
            }
            for pid in rng.sample(package_ids, min(600, len(package_ids)))
        ],  # fmt: skip
    )
    db.session.commit()
    # A live database has planner statistics; a freshly bulk-loaded one must be told.
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    each = [pid for n, pid in enumerate(product_ids) if CATEGORIES[n % 10][0] == "preroll"]
    return {"store": "bench", "product_ids": product_ids, "package_count": len(package_ids),
            "buyable": each}  # fmt: skip


class Timer:
    """Collect server times (ms) and response sizes per action."""

    def __init__(self):
        self.times: dict[str, list[float]] = {}
        self.sizes: dict[str, list[int]] = {}

    def call(self, name, fn, *args, expect=(200, 204, 303), **kwargs):
        start = time.perf_counter()
        response = fn(*args, **kwargs)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code not in expect:
            raise SystemExit(f"{name} failed: {response.status_code} {response.get_data()[:400]}")
        if name:
            self.times.setdefault(name, []).append(elapsed)
            self.sizes.setdefault(name, []).append(len(response.get_data()))
        return response


def first_load(client, page: bytes) -> list[tuple[str, int, int]]:
    """Return (what, raw bytes, gzip bytes) for the page and every static file it loads."""
    parts = [("menu page HTML", len(page), len(gzip.compress(page, 6)))]
    for path in dict.fromkeys(STATIC.findall(page.decode())):
        body = client.get(path).get_data()
        parts.append((path.removeprefix("/static/"), len(body), len(gzip.compress(body, 6))))
    return parts


def run(args) -> None:
    from flask.testing import FlaskClient
    from flask_migrate import upgrade

    from app import create_app
    from extensions import db
    from models.stock.packages import Package

    url = fresh_database(args.database_url)
    app = create_app(config(url))
    with app.app_context():
        upgrade(revision="heads")

    @app.get("/bench/bare")
    def bare():
        """Answer with a word: the floor of any request through this app."""
        return "ok"

    @app.get("/bench/read")
    def read():
        """Read one package by primary key: the floor of any request that reads the database."""
        return db.session.get(Package, rng.randrange(1, seeded["package_count"] + 1)).tag

    with app.app_context():
        started = time.perf_counter()
        seeded = seed(db, args.products, buyers=(args.orders + 10) // ORDERS_PER_BUYER + 1)
        seed_seconds = time.perf_counter() - started
        db.session.remove()
    rng = random.Random(7)
    code = seeded["store"]

    client = FlaskClient(app, use_cookies=True)
    gate = client.get("/").get_data(as_text=True)
    headers = {"X-CSRFToken": CSRF.search(gate).group(1)}
    client.post("/age", data={"answer": "yes"}, headers=headers)
    htmx = {"HX-Request": "true"}
    timer = Timer()

    for n in range(args.runs + 20):
        label = None if n < 20 else True
        timer.call(label and "bare Flask", client.get, "/bench/bare")
        timer.call(label and "bare indexed read", client.get, "/bench/read")
        menu = timer.call(label and "menu page", client.get, f"/stores/{code}")
        timer.call(
            label and "filter update (htmx)", client.get, f"/stores/{code}",
            query_string=FILTERS[n % len(FILTERS)], headers=htmx,
        )  # fmt: skip
        timer.call(
            label and "search (htmx)", client.get, f"/stores/{code}",
            query_string={"q": f"{rng.choice(WORDS)} {rng.choice(WORDS)}"}, headers=htmx,
        )  # fmt: skip
        timer.call(
            label and "show more (htmx)", client.get, f"/stores/{code}",
            query_string={"page": str(2 + n % 5)}, headers=htmx,
        )  # fmt: skip
        product = rng.choice(seeded["product_ids"])
        timer.call(label and "product page", client.get, f"/stores/{code}/products/{product}")

    for n in range(args.orders + 10):
        label = None if n < 10 else True
        if n % ORDERS_PER_BUYER == 0:
            client = FlaskClient(app, use_cookies=True)
            login = client.get("/account/login").get_data(as_text=True)
            signed = client.post(
                "/account/login",
                data={"email": f"buyer{n // ORDERS_PER_BUYER}@example.com", "password": PASSWORD},
                headers={"X-CSRFToken": CSRF.search(login).group(1)},
            )
            assert signed.status_code == 303, signed.status_code
            page = client.get(f"/stores/{code}").get_data(as_text=True)
            headers = {"X-CSRFToken": CSRF.search(page).group(1), **htmx}
        item = rng.choice(seeded["buyable"])
        timer.call(
            label and "add to cart (htmx)", client.post, f"/stores/{code}/cart/add",
            data={"product_id": item, "quantity": "1"}, headers=headers,
        )  # fmt: skip
        form = client.get(f"/stores/{code}/checkout").get_data(as_text=True)
        slot, key = SLOT.search(form).group(1), KEY.search(form).group(1)
        timer.call(
            label and "place an order", client.post, f"/stores/{code}/checkout",
            data={"slot": slot, "idempotency_key": key}, headers=headers,
        )  # fmt: skip

    engine = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(f"Pistil storefront bench · {engine}")
    print(
        f"seeded {args.products:,} products, {seeded['package_count']:,} packages "
        f"(600 held by an open order) in {seed_seconds:.1f} s; {args.runs} menu rounds, "
        f"{args.orders} orders measured"
    )
    goals = {
        "menu page": "p95 < 80 ms",
        "filter update (htmx)": "p95 < 40 ms",
    }
    bare50, bare95 = (percentile(timer.times["bare Flask"], p) for p in (50, 95))
    print(
        f"{'action':<22}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'p50 ×':>8}{'p95 ×':>8}{'KB':>7}  goal"
    )
    for name in ("bare Flask", "bare indexed read", "menu page", "filter update (htmx)",
                 "search (htmx)", "show more (htmx)", "product page", "add to cart (htmx)",
                 "place an order"):  # fmt: skip
        times = timer.times[name]
        p50, p95 = percentile(times, 50), percentile(times, 95)
        size = max(timer.sizes[name]) / 1024
        verdict = ""
        if name in goals:
            limit = float(goals[name].split("<")[1].split()[0])
            verdict = f"{goals[name]} {'met' if p95 < limit else 'MISSED'}"
        print(
            f"{name:<22}{len(times):>5}{p50:>9.1f}{p95:>9.1f}{p50 / bare50:>8.1f}"
            f"{p95 / bare95:>8.1f}{size:>7.1f}  {verdict}"
        )
    print("×: the action's time over the bare Flask endpoint's at the same percentile, same run.")
    print("KB: largest response body (htmx gets only the results; an order answers 204).")
    parts = first_load(client, menu.get_data())
    total_raw = sum(raw for _, raw, _ in parts)
    total_gz = sum(gz for _, _, gz in parts)
    print("First page load of the menu (gzip -6, as a compressing proxy sends it):")
    for what, raw, gz in parts:
        print(f"  {what:<38}{raw / 1024:>8.1f} KB raw{gz / 1024:>8.1f} KB gzip")
    verdict = "met" if total_gz < 100 * 1024 else "MISSED"
    print(
        f"  {'total':<38}{total_raw / 1024:>8.1f} KB raw{total_gz / 1024:>8.1f} KB gzip"
        f"  goal < 100 KB {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2000, help="products on the menu")
    parser.add_argument("--runs", type=int, default=300, help="menu rounds to time")
    parser.add_argument("--orders", type=int, default=150, help="orders to place")
    parser.add_argument("--database-url", help="PostgreSQL database to empty and use")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
