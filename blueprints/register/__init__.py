"""The budtender's register on a shared tablet."""

from flask import Blueprint

from blueprints.access import guard

bp = Blueprint("register", __name__)
# One check for every view: staff of this store only, and a locked tablet asks for a PIN.
guard(bp, "budtender")

from blueprints.register import (  # noqa: E402, F401
    checkin,
    customers,
    drawer,
    online,
    receipts,
    routes,
    sale,
)
