"""Builders for the storefront tests: products on a shelf, carts, sign-ins and checkouts."""

import itertools
import logging
import re
import uuid
from datetime import timedelta

from bs4 import BeautifulSoup, Tag
from werkzeug.datastructures import MultiDict

from extensions import db
from models.catalog.products import Product
from models.online.pickup import available_slots
from models.stock.management import receive
from models.stock.packages import Package
from support import PASSWORD, store_today

_serial = itertools.count(1)
ALL_DAY = {"summary": "Open daily 8 am – 10 pm", "daily": ["00:00", "23:30"]}


def open_all_day(store, **settings) -> None:
    """Give a store pickup hours round the clock, so tests find slots at any time of day."""
    store.hours = ALL_DAY
    for key, value in settings.items():
        setattr(store, key, value)
    db.session.commit()


def stock(store, name: str = "", quantity: int | None = 10, **fields) -> Product:
    """Create a product on a store's online menu with one package (none when quantity is None)."""
    n = next(_serial)
    values = {
        "store_id": store.id,
        "sku": f"SF-{n}",
        "name": name or f"Blue Dream 3.5g #{n}",
        "brand": "Test Farms",
        "category": "flower",
        "limit_category": "flower",
        "strain_type": "sativa",
        "net_weight_mg": 3500,
        "thc_pct_bp": 2000,
        "thc_mg": 700,
        "price_cents": 3000,
    }
    package_fields = {
        key: fields.pop(key)
        for key in ("expires_on", "lab_status", "on_hold", "coa_url", "tag")
        if key in fields
    }
    values.update(fields)
    product = Product(**values)
    db.session.add(product)
    db.session.flush()
    if quantity is not None:
        add_package(product, quantity, **package_fields)
    db.session.commit()
    return product


def add_package(product: Product, quantity: int, **fields) -> Package:
    """Receive one more package of a product."""
    n = next(_serial)
    package = receive(
        product,
        tag=fields.pop("tag", f"1A4060300003E9D{n:09d}"),
        quantity=quantity,
        unit="grams" if product.sold_by == "weight" else "each",
        received_on=store_today() - timedelta(days=5),
        expires_on=fields.pop("expires_on", store_today() + timedelta(days=300)),
        lab_status=fields.pop("lab_status", "passed"),
    )
    for key, value in fields.items():
        setattr(package, key, value)
    db.session.commit()
    return package


def enter(client) -> None:
    """Answer yes at the age gate."""
    response = client.post("/age", data={"answer": "yes"})
    assert response.status_code in (204, 303), response.status_code


def sign_in(client, customer) -> None:
    """Sign a customer in through the login form."""
    response = client.post("/account/login", data={"email": customer.email, "password": PASSWORD})
    assert response.status_code in (204, 303), response.get_data(as_text=True)


def add(client, store, product, quantity: int = 1, **headers):
    """Put a product in the client's cart through the add form."""
    return client.post(
        f"/stores/{store.code}/cart/add",
        data={"product_id": product.id, "quantity": quantity},
        headers=headers,
    )


def first_slot(store, skip: int = 0) -> str:
    """Return the form value of the first open pickup slot (after `skip` open ones)."""
    open_slots = [s for s in available_slots(store) if not s.full]
    return open_slots[skip].key


def checkout(client, store, slot: str | None = None, key: str | None = None, **headers):
    """Submit the checkout form."""
    return client.post(
        f"/stores/{store.code}/checkout",
        data={"slot": slot or first_slot(store), "idempotency_key": key or uuid.uuid4().hex},
        headers=headers,
    )


def order_id_from(response) -> int:
    """Return the order id a checkout redirected to."""
    location = response.headers.get("Location") or response.headers.get("HX-Redirect") or ""
    match = re.search(r"/account/orders/(\d+)", location)
    assert match, (response.status_code, location, response.get_data(as_text=True)[:500])
    return int(match.group(1))


def enable_logs(caplog, *names: str) -> None:
    """Capture INFO from our loggers (running the migrations' fileConfig disabled them)."""
    caplog.set_level(logging.INFO)
    for name in names:
        logging.getLogger(name).disabled = False


class HtmlForm:
    """A form as a browser without JavaScript would submit it: action, method, default values."""

    def __init__(self, attrs: dict):
        self.action = attrs.get("action", "")
        self.method = (attrs.get("method") or "get").lower()
        self.id = attrs.get("id")
        self.attrs = attrs
        self.fields: list[tuple[str, str]] = []
        self.radios: dict[str, list[tuple[str, bool]]] = {}
        self.selects: dict[str, list[tuple[str, bool]]] = {}

    def values(self, **changes) -> list[tuple[str, str]]:
        """Return the submitted pairs, with `changes` replacing a field's value(s)."""
        pairs = [(k, v) for k, v in self.fields if k not in changes]
        for name, options in {**self.radios, **self.selects}.items():
            if name in changes:
                continue
            chosen = [v for v, selected in options if selected]
            if name in self.selects and not chosen and options:
                chosen = [options[0][0]]
            pairs += [(name, v) for v in chosen[:1]]
        for name, value in changes.items():
            for v in value if isinstance(value, list | tuple) else [value]:
                pairs.append((name, str(v)))
        return pairs


def _attrs(tag: Tag) -> dict:
    """Return a tag's attributes as strings (bs4 gives class-like ones as lists)."""
    return {k: " ".join(v) if isinstance(v, list) else v for k, v in tag.attrs.items()}


def _read_input(form: HtmlForm, field: Tag) -> None:
    """Record one named <input> the way a browser would submit it."""
    name, kind = str(field["name"]), str(field.get("type", "text")).lower()
    value = str(field.get("value", ""))
    if kind == "radio":
        # A disabled radio is never submitted; the tests pick a free slot from the rest.
        disabled = field.has_attr("disabled")
        form.radios.setdefault(name, []).append((value, field.has_attr("checked") and not disabled))
        if disabled:
            form.attrs.setdefault("disabled_values", []).append(value)
    elif kind == "checkbox":
        if field.has_attr("checked"):
            form.fields.append((name, str(field.get("value", "on"))))
    elif kind not in ("submit", "button"):
        form.fields.append((name, value))


def _read_form(element: Tag) -> HtmlForm:
    """Return one <form> with its named inputs, textareas and selects."""
    form = HtmlForm(_attrs(element))
    for field in element.find_all(["input", "textarea", "select"], attrs={"name": True}):
        if field.name == "input":
            _read_input(form, field)
        elif field.name == "textarea":
            form.fields.append((str(field["name"]), field.get_text()))
        else:
            form.selects[str(field["name"])] = [
                (str(option.get("value", "")), option.has_attr("selected"))
                for option in field.find_all("option")
            ]
    return form


def html_forms(page: str) -> list[HtmlForm]:
    """Return every form of a page."""
    return [_read_form(form) for form in BeautifulSoup(page, "html.parser").find_all("form")]


def submit(client, form: HtmlForm, **changes):
    """Submit a form the way a browser without JavaScript does (no htmx headers)."""
    pairs = form.values(**changes)
    if form.method == "get":
        return client.get(form.action, query_string=pairs)
    return client.post(form.action, data=MultiDict(pairs), csrf=False)
