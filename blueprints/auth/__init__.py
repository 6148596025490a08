"""Staff and customer sign-in, customer sign-up, sign-out."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from blueprints.auth import reset, routes  # noqa: E402, F401
