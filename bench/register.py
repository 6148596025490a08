"""Time the register on a large store: scan-add a line, change a quantity, complete a sale.

Seeds one Colorado store with 5,000 products, 20,000 packages and 100,000 past orders (times
--scale), signs a budtender in, opens a cash drawer, then runs sales through the real htmx
endpoints with Flask's test client: check a returning customer in, scan three tags, change a
quantity, pay cash. It prints p50/p95 server time per action beside a bare Flask endpoint doing
one indexed read on the same database in the same run, the ratio to it, and the size of each
fragment the register sends.

Run: .venv/bin/python bench/register.py [--scale 0.2] [--sales 150]
     [--database-url postgresql://postgres@127.0.0.1:5432/pistil_bench] [--redis redis://...]
     [--profile "scan-add a line"]
The PostgreSQL database named is emptied first. Without --redis, reports are sent inline after
the commit (the embedded mode, dry-run adapter); with it they are only enqueued (use a scratch
Redis database: the run deletes the jobs it enqueued when it ends).
"""

import argparse
import os
import random
import re
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

# Replace the script's folder on the path: bench/limits.py would shadow the `limits` package.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import insert, select, text  # noqa: E402

from bench.common import config, fresh_database, percentile  # noqa: E402

PRODUCTS, PACKAGES, ORDERS = 5_000, 20_000, 100_000
CUSTOMERS_PER_ORDER = 10  # one customer per ten past orders: ~10 sales each over 180 days
PASSWORD = "bench-password-1"
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
LINE_ID = re.compile(r'id="line-(\d+)"')
CATEGORIES = (
    ("flower", "flower", 3500, None, 3500),
    ("preroll", "preroll", 1000, 210, 1200),
    ("vape", "vape", 500, 440, 3000),
    ("concentrate", "concentrate", 1000, 780, 4000),
    ("edible", "edible", 40000, 100, 1800),
    ("accessory", None, None, None, 900),
)


def migrate(url: str, redis_url: str | None) -> None:
    """Build the schema from the committed migrations."""
    from flask_migrate import upgrade

    from app import create_app
    from extensions import db

    app = create_app(config(url, redis_url))
    with app.app_context():
        upgrade(revision="heads")
        db.engine.dispose()


def batched(rows: list[dict], size: int = 5000):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def seed(db, scale: float) -> dict:
    """Insert the store, staff, catalog, stock and history with bulk inserts; return handles."""
    from models.catalog.products import Product
    from models.people.customers import Customer
    from models.people.users import StoreMembership, User
    from models.sales.orders import Order, OrderLine, Tender
    from models.stock.packages import Package, StockMovement
    from models.stores.store import Store

    rng = random.Random(20261127)
    n_products = max(60, int(PRODUCTS * scale))
    n_packages = max(240, int(PACKAGES * scale))
    n_orders = max(500, int(ORDERS * scale))
    n_customers = max(50, n_orders // CUSTOMERS_PER_ORDER)
    now = datetime.now(UTC)
    today = now.date()

    store = Store(
        code="bench", name="Bench Store", license_number="402R-BENCH", state="CO",
        timezone="America/Denver", street="1 Bench St", city="Denver", postal_code="80205",
        rule_pack="CO", tracktrace_system="metrc",
        local_tax_rates_bp={"local_sales": "481", "local_marijuana": "550"},
    )  # fmt: skip
    budtender = User(email="bench@example.com", name="Bench Tender")
    budtender.set_password(PASSWORD)
    budtender.set_pin("2468")
    db.session.add_all([store, budtender])
    db.session.flush()
    db.session.add(StoreMembership(user_id=budtender.id, store_id=store.id, role="budtender"))
    db.session.commit()

    products = []
    for i in range(1, n_products + 1):
        category, limit, weight, thc, price = CATEGORIES[i % len(CATEGORIES)]
        products.append(
            {
                "id": i, "store_id": store.id, "sku": f"B-{i:06d}",
                "name": f"Bench {category} {i}", "brand": f"Brand {i % 97}",
                "category": category, "limit_category": limit, "strain_type": "hybrid",
                "net_weight_mg": weight, "thc_mg": thc if thc else (700 if limit else None),
                "thc_pct_bp": 2000 if limit else None, "sold_by": "each",
                "price_cents": price + (i % 50) * 10, "description": "", "online_visible": True,
                "active": True, "created_at": now, "updated_at": now,
            }
        )  # fmt: skip
    packages, movements = [], []
    for i in range(1, n_packages + 1):
        product_id = (i - 1) % n_products + 1
        packages.append(
            {
                "id": i, "store_id": store.id, "product_id": product_id,
                "tag": f"1A4BENCH{i:016d}", "quantity": 100_000, "unit": "each",
                "lab_status": "passed", "on_hold": False,
                "received_on": today - timedelta(days=30 + i % 60),
                "expires_on": today + timedelta(days=90 + i % 300),
                "created_at": now, "updated_at": now,
            }
        )  # fmt: skip
        movements.append(
            {
                "id": i, "store_id": store.id, "package_id": i, "kind": "receive",
                "delta": 100_000, "quantity_after": 100_000, "created_at": now,
            }
        )  # fmt: skip
    customers = [
        {
            "id": i,
            "first_name": f"Pat{i}",
            "last_name": f"Shopper{i}",
            "date_of_birth": date(1980 + i % 20, 1 + i % 12, 1 + i % 28),
            "kind": "adult_use",
            "resident_state": "CO",
            "id_state": "CO",
            "id_expires": today + timedelta(days=700),
            "failed_logins": 0,
            "created_at": now,
        }  # fmt: skip
        for i in range(1, n_customers + 1)
    ]
    orders, lines, tenders = [], [], []
    line_id = 0
    for i in range(1, n_orders + 1):
        at = now - timedelta(minutes=rng.randrange(1, 180 * 24 * 60))
        total = 0
        for _ in range(2):
            line_id += 1
            package = packages[rng.randrange(n_packages)]
            product = products[package["product_id"] - 1]
            total += product["price_cents"]
            lines.append(
                {
                    "id": line_id, "order_id": i, "product_id": product["id"],
                    "package_id": package["id"], "name": product["name"],
                    "brand": product["brand"], "sku": product["sku"],
                    "category": product["category"], "limit_category": product["limit_category"],
                    "package_tag": package["tag"], "quantity": 1, "unit": "each",
                    "unit_price_cents": product["price_cents"],
                    "net_weight_mg": product["net_weight_mg"], "thc_mg": product["thc_mg"],
                    "discount_cents": 0, "sale_discount_cents": 0,
                    "line_total_cents": product["price_cents"], "returned_quantity": 0,
                }
            )  # fmt: skip
        orders.append(
            {
                "id": i, "store_id": store.id, "channel": "register", "status": "completed",
                "customer_id": rng.randrange(1, n_customers + 1), "budtender_id": budtender.id,
                "customer_class": "adult_use", "subtotal_cents": total, "discount_cents": 0,
                "tax_cents": total * 25 // 100, "total_cents": total * 125 // 100,
                "tax_lines": [], "business_date": at.date(), "completed_at": at,
                "id_checked_at": at, "created_at": at, "updated_at": at,
            }
        )  # fmt: skip
        tenders.append(
            {
                "id": i, "order_id": i, "kind": "debit", "amount_cents": total * 125 // 100,
                "change_cents": 0, "created_at": at,
            }
        )  # fmt: skip
    for model, rows in (
        (Product, products),
        (Package, packages),
        (StockMovement, movements),
        (Customer, customers),
        (Order, orders),
        (OrderLine, lines),
        (Tender, tenders),
    ):
        for chunk in batched(rows):
            db.session.execute(insert(model.__table__), chunk)
        db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Explicit ids leave the sequences behind; move them past the seeded rows.
        for table in ("product", "package", "stock_movement", "customer", "sale_order",
                      "order_line", "tender"):  # fmt: skip
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    flower_tags = [
        p["tag"] for p in packages if products[p["product_id"] - 1]["category"] == "flower"
    ]
    return {
        "store_id": store.id,
        "counts": (n_products, n_packages, n_orders, len(lines)),
        "customers": n_customers,
        "flower_tags": flower_tags,
        "package_ids": n_packages,
    }


class Timer:
    """Collect server times (ms) and response sizes per action; profile one action if asked."""

    def __init__(self, profile: str | None = None):
        self.times: dict[str, list[float]] = {}
        self.sizes: dict[str, list[int]] = {}
        self.profile = profile
        self.profiler = None
        if profile:
            import cProfile

            self.profiler = cProfile.Profile()

    def call(self, name, fn, *args, **kwargs):
        profiling = self.profiler is not None and name == self.profile
        if profiling:
            self.profiler.enable()
        start = time.perf_counter()
        response = fn(*args, **kwargs)
        elapsed = (time.perf_counter() - start) * 1000
        if profiling:
            self.profiler.disable()
        if response.status_code >= 400 and name != "warm-up":
            raise SystemExit(f"{name} failed: {response.status_code} {response.get_data()[:400]}")
        self.times.setdefault(name, []).append(elapsed)
        self.sizes.setdefault(name, []).append(len(response.get_data()))
        return response


def run(args) -> None:
    from flask.testing import FlaskClient

    from app import create_app
    from extensions import db
    from models.stock.packages import Package

    url = fresh_database(args.database_url)
    migrate(url, args.redis)
    app = create_app(config(url, args.redis))

    @app.get("/bench/bare")
    def bare():
        """Read one package by primary key: the floor for any register request."""
        package = db.session.get(Package, int(app.config["BENCH_NEXT_ID"]()))
        return package.tag

    with app.app_context():
        started = time.perf_counter()
        seeded = seed(db, args.scale)
        seed_seconds = time.perf_counter() - started
        db.session.remove()
    rng = random.Random(7)
    app.config["BENCH_NEXT_ID"] = lambda: rng.randrange(1, seeded["package_ids"] + 1)

    client = FlaskClient(app, use_cookies=True)
    login_page = client.get("/staff/login").get_data(as_text=True)
    token = CSRF.search(login_page).group(1)
    headers = {"X-CSRFToken": token}
    response = client.post(
        "/staff/login", data={"email": "bench@example.com", "password": PASSWORD}, headers=headers
    )
    assert response.status_code in (204, 303), response.get_data()[:300]
    page = client.get("/register/").get_data(as_text=True)
    headers = {"X-CSRFToken": CSRF.search(page).group(1), "HX-Request": "true"}
    client.post(
        "/register/drawer/open", data={"name": "Bench", "float_amount": "500"}, headers=headers
    )

    timer = Timer(args.profile)
    tags = seeded["flower_tags"]
    customers = rng.sample(
        range(1, seeded["customers"] + 1), min(seeded["customers"], args.sales + 20)
    )
    for n, customer_id in enumerate(customers[: args.sales + 20]):
        label = "warm-up" if n < 20 else None
        response = timer.call(
            label or "check in (lookup)", client.post,
            f"/register/checkin/customer/{customer_id}", headers=headers,
        )  # fmt: skip
        sale_url = response.headers["HX-Location"].split('"path": "')[1].split('"')[0]
        for _ in range(3):
            timer.call(label or "bare indexed read", client.get, "/bench/bare", headers=headers)
            scanned = timer.call(
                label or "scan-add a line", client.post, f"{sale_url}/scan",
                data={"tag": rng.choice(tags)}, headers=headers,
            )  # fmt: skip
        # The line's id from the cart the register sent: reading it from the database here
        # would end a transaction of the bench's own with ROLLBACK, which drops psycopg's
        # prepared statements and so slows the app's next requests (not a thing tablets do).
        line_id = LINE_ID.search(scanned.get_data(as_text=True)).group(1)
        timer.call(
            label or "change a quantity", client.post, f"{sale_url}/lines/{line_id}/quantity",
            data={"quantity": "2"}, headers=headers,
        )  # fmt: skip
        timer.call(
            label or "menu search", client.get, f"{sale_url}/products?q=bench+flower+1",
            headers=headers,
        )  # fmt: skip
        done = timer.call(
            label or "complete a sale", client.post, f"{sale_url}/complete",
            data={"client_token": uuid.uuid4().hex, "cash_given": "500"}, headers=headers,
        )  # fmt: skip
        if done.status_code != 204:
            raise SystemExit(f"complete failed: {done.get_data()[:300]}")
        timer.call(label or "receipt", client.get, f"{sale_url}/receipt", headers=headers)
        timer.call(label or "queue poll", client.get, "/register/queue", headers=headers)

    if args.redis:
        forget_jobs(app)
    engine = "postgresql" if url.startswith("postgresql") else "sqlite"
    mode = "reports enqueued to Redis" if args.redis else "reports sent inline (dry run)"
    products, packages, orders, lines = seeded["counts"]
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"Pistil register bench · {engine} · {mode} · scale {args.scale} · load {load}")
    print(
        f"seeded {products:,} products, {packages:,} packages, {orders:,} past orders "
        f"({lines:,} lines) in {seed_seconds:.1f} s; {args.sales} sales measured"
    )
    bare_p95 = percentile(timer.times["bare indexed read"], 95)
    goals = {"scan-add a line": "p95 < 50 ms, ≤ 4× bare", "complete a sale": "p95 < 150 ms"}
    bare_p50 = percentile(timer.times["bare indexed read"], 50)
    print(
        f"{'action':<20}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p50 ×':>7}{'p95 ×':>7}{'KB':>7}  goal"
    )
    for name in ("bare indexed read", "scan-add a line", "change a quantity", "complete a sale",
                 "check in (lookup)", "menu search", "receipt", "queue poll"):  # fmt: skip
        times = timer.times[name]
        p50, p95 = percentile(times, 50), percentile(times, 95)
        size = max(timer.sizes[name]) / 1024
        print(
            f"{name:<20}{len(times):>6}{p50:>9.1f}{p95:>9.1f}"
            f"{p50 / bare_p50:>7.1f}{p95 / bare_p95:>7.1f}{size:>7.1f}  {goals.get(name, '')}"
        )
    print("×: the action's time over the bare endpoint's at the same percentile, same run.")
    print(
        "KB: largest response body (the fragment htmx swaps; complete answers 204 + HX-Location)."
    )
    if timer.profiler is not None:
        import pstats

        print(f"\nprofile of {args.profile!r} (cumulative top 60, then own time top 25):")
        stats = pstats.Stats(timer.profiler)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(25)


def forget_jobs(app) -> None:
    """Delete the report jobs this run enqueued (no worker runs them; their database is gone)."""
    from rq.job import Job

    from extensions import db
    from jobs.queues import redis_connection
    from jobs.reports import job_id_for
    from models.compliance.outbox import ComplianceReport

    with app.app_context():
        connection = redis_connection()
        for report_id in db.session.scalars(select(ComplianceReport.id)):
            try:
                Job.fetch(job_id_for(report_id), connection=connection).delete()
            except Exception:  # noqa: BLE001, S112 - a job already gone is what we want
                continue
        db.session.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the large store")
    parser.add_argument("--sales", type=int, default=150, help="sales to time")
    parser.add_argument("--database-url", help="PostgreSQL database to empty and use")
    parser.add_argument("--redis", help="Redis URL: enqueue reports instead of sending inline")
    parser.add_argument(
        "--profile", metavar="ACTION", help='cProfile one action, e.g. "scan-add a line"'
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
