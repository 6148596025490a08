"""The online menu: age gate, store picker, menu, cart, checkout and the customer's orders."""

from flask import Blueprint

bp = Blueprint("storefront", __name__)

from blueprints.storefront import cart, orders, routes  # noqa: E402, F401
