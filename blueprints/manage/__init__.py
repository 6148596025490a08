"""The back office for managers."""

from flask import Blueprint

bp = Blueprint("manage", __name__)

from blueprints.manage import limits, routes  # noqa: E402, F401
