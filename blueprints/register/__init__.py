"""The budtender's register on a shared tablet."""

from flask import Blueprint

bp = Blueprint("register", __name__)

from blueprints.register import checkin, customers, drawer, online, routes, sale  # noqa: E402, F401
