"""The back office for managers."""

from flask import Blueprint

from blueprints.access import guard

bp = Blueprint("manage", __name__)
# One check for every view: staff of this store only, and a locked tablet asks for a PIN.
guard(bp, "manager")

from blueprints.manage import compliance, limits, routes, settings  # noqa: E402, F401
