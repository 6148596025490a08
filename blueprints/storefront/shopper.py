"""The shopper's session: the age answer, the store they shop at, and their carts' tokens."""

from datetime import date

from flask import abort, redirect, request, session, url_for
from sqlalchemy import select

from blueprints.sessions import current_customer
from extensions import db
from models.online.cart import Cart, adopt_carts, find_cart
from models.people.customers import Customer
from models.stores.store import Store, earliest_business_date

# What survives signing in (sign_in starts a fresh session).
CARRIED_OVER = ("age_ok", "carts", "store_code")


def age_confirmed() -> bool:
    """Say whether the visitor passed the age gate (a signed-in customer did at sign-up)."""
    return session.get("age_ok") is True or current_customer() is not None


def to_age_gate():
    """Send a visitor who has not answered the age question to it, and back here after."""
    return redirect(url_for("storefront.index", next=request.full_path.rstrip("?")))


def online_store(code: str) -> Store:
    """Return the store taking online orders under a code, or 404."""
    store = db.session.scalar(
        select(Store).where(Store.code == code, Store.online_ordering.is_(True))
    )
    if store is None:
        abort(404)
    return store


def cart_token(store: Store) -> str | None:
    """Return the session's cart token for a store."""
    return (session.get("carts") or {}).get(str(store.id))


def remember_cart(store: Store, token: str) -> None:
    """Keep a store's cart token in the session."""
    tokens = dict(session.get("carts") or {})
    if tokens.get(str(store.id)) != token:
        tokens[str(store.id)] = token
        session["carts"] = tokens


def current_cart(store: Store) -> Cart | None:
    """Return the shopper's open cart at a store, if any."""
    return find_cart(cart_token(store), store, current_customer())


def shopping_store() -> Store | None:
    """Return the store the shopper chose (the header's cart link points there), if any."""
    code = session.get("store_code")
    if not code:
        return None
    return db.session.scalar(select(Store).where(Store.code == code))


def shopper_today() -> date:
    """Return the date a shopper's age and card are judged on: their store's business date.

    With no store chosen yet, the earliest date any store is on: nobody counts as a year older
    (or a card as still valid) a day early.
    """
    store = shopping_store()
    return store.business_date() if store is not None else earliest_business_date()


def shop_at(store: Store) -> None:
    """Remember the store the shopper is browsing (the header's cart link points there)."""
    if session.get("store_code") != store.code:
        session["store_code"] = store.code


def before_sign_in() -> dict:
    """Return what of the shopper's session must survive signing in."""
    return {key: session[key] for key in CARRIED_OVER if key in session}


def after_sign_in(saved: dict, customer: Customer) -> None:
    """Put the shopper's session back after signing in, with their carts now theirs."""
    for key, value in saved.items():
        session[key] = value
    session["carts"] = adopt_carts(customer, saved.get("carts") or {})
