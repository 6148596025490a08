"""Hostile input never crashes the app: every route, every role, every odd value answers below 500.

The sweep walks `app.url_map` (so routes added later are covered without touching this file) and
sends each hostile value in every path argument, every query argument and every form field the
app reads, as a manager, a budtender, a customer and someone not signed in.
"""

import ast
import re
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from htmx_flask.requests import HtmxAwareRequest
from register_support import license_text, make_package, make_product, open_sale
from storefront_support import add, checkout, enter, open_all_day, order_id_from, sign_in
from storefront_support import stock as shelf
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter
from wtforms import Form

from blueprints.numbers import IdConverter
from extensions import db
from models.compliance.outbox import ReconciliationItem, ReconciliationRun
from models.people.accounts import request_reset
from models.sales.cash_drawer import DENOMINATIONS
from models.sales.lines import add_by_tag
from models.sales.orders import Order
from support import store_today, years_before

ROOT = Path(__file__).resolve().parent.parent

# Ids beyond a PostgreSQL integer and beyond SQLite's 64 bits, a NUL byte (PostgreSQL refuses it
# in text), and digits Python's int() reads differently: `²` passes str.isdigit() but int()
# raises; `٣` and `１２` are digits int() accepts.
HOSTILE = {
    "int32+1": str(2**31),
    "int64+1": str(2**63),
    "huge": "9" * 30,
    "nul": "a\x00b",
    "superscript-2": "²",
    "arabic-3": "٣",
    "fullwidth-12": "１２",
    "negative": "-1",
}
PATH_HOSTILE = {**HOSTILE, "long": "x" * 300}
# htmx asks for fragments and error toasts: those renderings get the values most likely to break.
HTMX_TOO = ("int64+1", "nul", "superscript-2")
# Mutations that end a sale, the register or the session go last, in this order, so the routes
# before them are reached with a live sale and a signed-in client.
LAST = (("cancel", "void", "complete", "close", "remove", "change_store"), ("lock",), ("logout",))


def read_names() -> set[str]:
    """Return every form and query field name the app reads: WTForms, templates, request.*."""
    import blueprints  # noqa: F401 - loads every form class

    names: set[str] = set()
    pending = list(Form.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        names.update(name for name, _ in getattr(cls, "_unbound_fields", None) or [])
        names.update(attr for attr, value in vars(cls).items() if hasattr(value, "field_class"))
    for template in (ROOT / "templates").rglob("*.html"):
        names.update(re.findall(r'\bname="([A-Za-z_][\w\-]*)"', template.read_text()))
    pattern = re.compile(r"request\.(?:form|args|values)\.get(?:list)?\(\s*[\"']([\w\-]+)[\"']")
    for source in [*(ROOT / "blueprints").rglob("*.py"), *(ROOT / "models").rglob("*.py")]:
        names.update(pattern.findall(source.read_text()))
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            # Tuples of argument names a view reads in a loop (e.g. the menu's filters).
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id.endswith("_ARGS"):
                    names.update(
                        elt.value for elt in node.value.elts if isinstance(elt, ast.Constant)
                    )
    names.discard("csrf_token")
    names.discard("csrf-token")
    return names


class World:
    """One store with everything a route can name: sales, lines, orders, drawers, reports."""


@pytest.fixture
def world(app, store, make_user, make_customer, login_as):
    open_all_day(store)
    w = World()
    w.store = store
    w.manager = make_user(store, role="manager", pin="1111")
    w.budtender = make_user(store, role="budtender", pin="2222")
    w.customer = make_customer(
        email="hostile.shopper@example.com", date_of_birth=years_before(store_today(), 30)
    )
    product = make_product(store)
    w.product = product
    w.package = make_package(product, 50)
    sale = open_sale(store, w.budtender)
    add_by_tag(sale, w.package.tag)
    db.session.commit()
    w.sale_id, w.sale_line_id = sale.id, sale.lines[0].id
    # A finished sale with its report, for the receipt, return and compliance pages.
    done = open_sale(store, w.budtender)
    add_by_tag(done, w.package.tag)
    done.status = "completed"
    db.session.commit()
    w.done_id = done.id
    from models.compliance.outbox import queue_report

    w.report_id = queue_report("sale", store, order=done).id
    db.session.commit()
    run = ReconciliationRun(store_id=store.id, business_date=store_today())
    run.items.append(
        ReconciliationItem(
            store_id=store.id,
            business_date=store_today(),
            key=f"sale:{done.id}",
            kind="missing_at_state",
            detail="hostile sweep",
        )
    )
    db.session.add(run)
    db.session.commit()
    w.item_id = run.items[0].id
    online = shelf(store, "Sweep Jar", quantity=20, tag="1A4060300003E9D999999999")
    web = app.test_client()
    enter(web)
    sign_in(web, w.customer)
    add(web, store, online, 1)
    w.online_id = order_id_from(checkout(web, store))
    w.online_line_id = db.session.get(Order, w.online_id).lines[0].id
    _, w.reset_token = request_reset(w.customer.email)
    db.session.commit()
    w.login_as = login_as
    # Plain values: reading a row's attribute between requests would open a (locking) transaction.
    w.store_code, w.customer_id, w.product_id = store.code, w.customer.id, product.id
    w.package_tag = w.package.tag
    w.manager_id, w.budtender_id, w.store_id = w.manager.id, w.budtender.id, store.id
    return w


def real_args(world: World, rule) -> dict[str, str]:
    """Return a real value for each argument of a rule, so a hostile one reaches the view."""
    online = rule.rule.startswith(("/register/online", "/account/orders"))
    values = {
        "code": world.store_code,
        "order_id": world.online_id if online else world.sale_id,
        "line_id": world.online_line_id if online else world.sale_line_id,
        "customer_id": world.customer_id,
        "drawer_id": 1,
        "product_id": world.product_id,
        "report_id": world.report_id,
        "item_id": world.item_id,
        "token": world.reset_token,
        "filename": "css/app.css",
    }
    if "/return" in rule.rule or "/receipt" in rule.rule:
        values["order_id"] = world.done_id
    return {arg: str(values.get(arg, 1)) for arg in rule.arguments}


def build(rule, args: dict[str, str]) -> str:
    """Fill a rule's placeholders with raw (URL-quoted) text, the way a hand-typed URL would."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: quote(args[m.group(1)], safe=""), rule.rule)


def client_for(app, world: World, role: str):
    """Return a client signed in as `role`, with a budtender's drawer open."""
    client = app.test_client()
    enter(client)
    if role == "manager":
        world.login_as(client, world.manager)
    elif role == "budtender":
        world.login_as(client, world.budtender)
        opened = client.post("/register/drawer/open", data={"name": "R1", "float_amount": "100"})
        assert opened.status_code < 400, opened.get_data(as_text=True)
    elif role == "customer":
        sign_in(client, world.customer)
    client.token = client.csrf_token()
    return client


def order_rules(app):
    """Return the app's rules, reading ones first and those that end a session or sale last."""
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]

    def weight(rule):
        endpoint = rule.endpoint.rpartition(".")[2]
        stage = next((n for n, words in enumerate(LAST, 1) if endpoint.startswith(words)), 0)
        return ("GET" not in rule.methods, stage, rule.rule)

    return sorted(rules, key=weight)


def send(client, method: str, url: str, **kwargs):
    """Send one request; return the status, or the exception a crash raised (TESTING re-raises)."""
    headers = kwargs.pop("headers", {})
    if method == "POST":
        headers["X-CSRFToken"] = client.token
    try:
        response = client.open(url, method=method, headers=headers, csrf=False, **kwargs)
    except Exception as crash:  # noqa: BLE001 - a crash is exactly what the sweep records
        db.session.rollback()
        return 500, f"{type(crash).__name__}: {crash}"[:300]
    return response.status_code, response


def all_names(world: World) -> list[str]:
    """Return every field name the app reads, with the per-line and per-note ones filled in."""
    names = sorted(read_names())
    for line in (world.sale_line_id, world.online_line_id):
        names += [f"qty-{line}", f"disposition-{line}"]
    names += [f"count-{value}" for value, _ in DENOMINATIONS]
    return names


@pytest.mark.parametrize("role", ["manager", "budtender", "customer", "anonymous"])
def test_every_route_answers_hostile_input_without_a_server_error(app, world, role):
    names = all_names(world)
    client = client_for(app, world, role)
    crashes: list[str] = []
    statuses: Counter = Counter()

    def check(method, url, what, **kwargs):
        status, outcome = send(client, method, url, **kwargs)
        statuses[(method, url.split("?")[0], status)] += 1
        if status >= 500:
            detail = outcome if isinstance(outcome, str) else outcome.get_data(as_text=True)[:200]
            crashes.append(f"{method} {url[:120]} [{what}] -> {status} {detail}")
        elif "logout" not in url and "This form has expired" in outcome.get_data(as_text=True):
            crashes.append(f"{method} {url[:120]} [{what}] -> refused its CSRF token")

    for rule in order_rules(app):
        methods = sorted(rule.methods & {"GET", "POST"})
        base = real_args(world, rule)
        for method in methods:
            for arg in rule.arguments:
                for label, value in PATH_HOSTILE.items():
                    check(method, build(rule, {**base, arg: value}), f"path {arg}={label}")
            url = build(rule, base)
            where = "query_string" if method == "GET" else "data"
            for label, value in HOSTILE.items():
                fields = {name: value for name in names}
                check(method, url, f"{where}={label}", **{where: fields})
                if label in HTMX_TOO:
                    check(method, url, f"htmx {where}={label}", **{where: fields},
                          headers={"HX-Request": "true"})  # fmt: skip
    assert not crashes, f"{len(crashes)} server errors:\n" + "\n".join(crashes[:60])
    # The sweep reached the views, not only the doors: the signed-in roles got real answers.
    if role == "budtender":
        assert statuses[("POST", f"/register/sale/{world.sale_id}/add", 422)] > 0, statuses
    if role == "manager":
        assert statuses[("GET", "/manage/products", 200)] > 0, statuses


# The fields a view reads, recorded as it reads them (form and query string alike).
READ: set[str] = set()


class RecordingDict(ImmutableMultiDict):
    """Request parameters that note every name a view asks for."""

    def __getitem__(self, key):
        READ.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        READ.add(key)
        return super().__contains__(key)

    def get(self, key, default=None, type=None):
        READ.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        READ.add(key)
        return super().getlist(key, type)


class RecordingRequest(HtmxAwareRequest):
    parameter_storage_class = RecordingDict


def plausible(world: World, names: list[str]) -> dict[str, str]:
    """Return a value for every field that a view would accept, so each hostile one is reached."""
    today = store_today()
    known = {
        "tag": world.package_tag,
        "scan": license_text(),
        "q": "Blue",
        "product_id": str(world.product_id),
        "kind": "amount",
        "refund_kind": "debit",
        "manager_id": str(world.manager_id),
        "manager_pin": "1111",
        "user_id": str(world.budtender_id),
        "pin": "2222",
        "store_id": str(world.store_id),
        "answer": "yes",
        "email": "nobody@example.com",
        "password": "not-the-password",
        "birth": years_before(today, 30).isoformat(),
        "id_expires": (today + timedelta(days=700)).isoformat(),
        "card_expires": (today + timedelta(days=300)).isoformat(),
        "date": today.isoformat(),
        "cash_given": "1000",
        "debit": "0",
        "client_token": uuid.uuid4().hex,
        "idempotency_key": uuid.uuid4().hex,
        "reason": "sweep",
        "note": "sweep",
        "name": "R2",
        "agreed": "y",
    }
    values = {name: known.get(name, "1") for name in names}
    values.update({name: "restock" for name in names if name.startswith("disposition-")})
    return values


@pytest.mark.parametrize("role", ["manager", "budtender", "customer", "anonymous"])
def test_each_field_a_view_reads_answers_hostile_input_without_a_server_error(app, world, role):
    """Every other field plausible, one hostile: the odd value reaches the code that reads it."""
    names = all_names(world)
    app.request_class = RecordingRequest
    client = client_for(app, world, role)
    crashes: list[str] = []
    reached: set[str] = set()
    for rule in order_rules(app):
        if "POST" not in rule.methods and "GET" not in rule.methods:
            continue
        method = "POST" if "POST" in rule.methods else "GET"
        url = build(rule, real_args(world, rule))
        where = "data" if method == "POST" else "query_string"
        READ.clear()
        send(client, method, url, **{where: plausible(world, names)})
        read = sorted(READ - {"csrf_token"})
        reached.update(read)
        for name in read:
            for label in ("int32+1", "int64+1", "nul", "superscript-2"):
                fields = {**plausible(world, names), name: HOSTILE[label]}
                status, outcome = send(client, method, url, **{where: fields})
                if status >= 500:
                    crashes.append(f"{method} {url} [{name}={label}] -> {outcome}")
    assert not crashes, f"{len(crashes)} server errors:\n" + "\n".join(crashes[:60])
    # The plausible values got past the doors: the views read their fields.
    if role in ("manager", "budtender"):
        assert {"tag", "quantity", "cash_given", "manager_pin", "reason"} <= reached, reached


def test_a_nul_byte_in_any_text_is_refused_with_a_message_and_nothing_is_stored(app, world):
    budtender = client_for(app, world, "budtender")
    budtender.environ_base["HTTP_HX_REQUEST"] = "true"
    before = [line.quantity for line in db.session.get(Order, world.sale_id).lines]
    response = budtender.post(
        f"/register/sale/{world.sale_id}/scan", data={"tag": f"{world.package_tag}\x00"}
    )
    assert response.status_code == 422
    assert "invisible NUL character" in response.get_data(as_text=True)
    assert [line.quantity for line in db.session.get(Order, world.sale_id).lines] == before
    shopper = app.test_client()
    page = shopper.get("/stores/store%00-1")
    assert page.status_code == 400 and "invisible NUL character" in page.get_data(as_text=True)
    search = shopper.get(f"/stores/{world.store_code}", query_string={"q": "Blue\x00"})
    assert search.status_code == 400


@pytest.mark.parametrize("typed", ["²", "٣", "１２", "9" * 12])
def test_odd_digits_as_a_quantity_ask_for_a_whole_number(app, world, typed):
    budtender = client_for(app, world, "budtender")
    budtender.environ_base["HTTP_HX_REQUEST"] = "true"
    response = budtender.post(
        f"/register/sale/{world.sale_id}/lines/{world.sale_line_id}/quantity",
        data={"quantity": typed},
    )
    assert response.status_code == 422
    assert "Enter a whole number of units" in response.get_data(as_text=True)


@pytest.mark.parametrize("number", [2**31, 2**63, 10**30])
def test_ids_no_row_can_have_are_not_found_in_urls_and_refused_in_forms(app, world, number):
    manager = client_for(app, world, "manager")
    for url in (f"/manage/products/{number}", f"/register/online/{number}",
                f"/manage/compliance/reports/{number}", f"/register/sale/{number}"):  # fmt: skip
        assert manager.get(url).status_code == 404, url
    shopper = client_for(app, world, "customer")
    for url in (f"/stores/{world.store_code}/products/{number}", f"/account/orders/{number}"):
        assert shopper.get(url).status_code == 404, url
    added = shopper.post(
        f"/stores/{world.store_code}/cart/add", data={"product_id": number, "quantity": 1}
    )
    assert 400 <= added.status_code < 500


def test_every_number_in_a_url_is_read_as_a_row_id(app):
    """Each route's whole numbers stop at the database's integer, so none can reach a query."""
    plain = [
        f"{rule.rule} ({name})"
        for rule in app.url_map.iter_rules()
        for name, converter in rule._converters.items()
        if isinstance(converter, IntegerConverter) and not isinstance(converter, IdConverter)
    ]
    assert not plain, "use <id:...> for " + ", ".join(plain)


HISTORY_RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}


@pytest.mark.parametrize("role", ["manager", "budtender", "customer"])
@pytest.mark.parametrize("how", ["typed in the browser", "restored from history"])
def test_every_page_opened_directly_is_a_whole_page_never_a_fragment(app, world, role, how):
    """A fragment URL (a polled queue, search results) opened by hand shows a page or redirects."""
    client = client_for(app, world, role)
    headers = HISTORY_RESTORE if how == "restored from history" else {}
    broken = []
    for rule in order_rules(app):
        if "GET" not in rule.methods:
            continue
        url = build(rule, real_args(world, rule))
        status, response = send(client, "GET", url, headers=dict(headers))
        if status >= 500:
            broken.append(f"{url} -> {status} {response}")
        elif status == 200 and response.mimetype == "text/html":
            body = response.get_data(as_text=True)
            if "<html" not in body or "HX-Retarget" in response.headers:
                broken.append(f"{url} -> a fragment: {body.strip()[:80]!r}")
        elif status == 204 or "HX-Location" in response.headers:
            broken.append(f"{url} -> {status} with nothing a browser can show")
    assert not broken, "\n".join(broken)


@pytest.fixture
def app_config(app_config):
    # A crash that left a write lock behind must show fast, not after 15 s per request.
    return {**app_config, "SQLITE_BUSY_TIMEOUT_MS": 2000}


@pytest.mark.parametrize("typed", ["²", "٣", "１２"])
def test_odd_digits_as_a_cart_quantity_are_refused_and_nothing_is_added(app, world, typed):
    from models.online.cart import Cart

    shopper = client_for(app, world, "customer")
    before = db.session.query(Cart).count()
    response = shopper.post(
        f"/stores/{world.store_code}/cart/add",
        data={"product_id": world.product_id, "quantity": typed},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "Enter a whole number." in response.get_data(as_text=True)
    assert db.session.query(Cart).count() == before
