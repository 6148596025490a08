"""The back office for managers."""

from flask import Blueprint

bp = Blueprint("manage", __name__)

from blueprints.manage import compliance, limits, routes, settings  # noqa: E402, F401
