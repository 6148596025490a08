"""The online menu: age gate, store picker, menu, and the customer's account."""

from flask import Blueprint

bp = Blueprint("storefront", __name__)

from blueprints.storefront import routes  # noqa: E402, F401
