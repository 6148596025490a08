"""Ids and counts in URLs and forms, read by one rule: the digits 0-9, within what can exist."""

from flask import Flask, abort
from werkzeug.routing import IntegerConverter
from wtforms import IntegerField

from models.infra.numbers import MAX_COUNT, MAX_ID, parse_count, parse_id


class IdConverter(IntegerConverter):
    """`<id:...>` in a route: a row id, digits 0-9 from 1 to MAX_ID, else no match (404).

    PostgreSQL refuses a number past its integer in a query (a 500), so such a URL never
    reaches one.
    """

    # Werkzeug's \d also matches ٣ or １; a hand-typed URL must name the row it seems to.
    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class IdField(IntegerField):
    """A form field naming a row; anything no row can have is a field error, never a query."""

    def __init__(self, *args, message: str = "Choose one of the options shown.", **kwargs):
        super().__init__(*args, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        self.data = parse_id(valuelist[0])
        if self.data is None:
            raise ValueError(self.message)


class CountField(IntegerField):
    """A whole number typed by a person (0-9 only: int() would take ٣ and refuse ²)."""

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        self.data = parse_count(str(valuelist[0]), maximum=MAX_COUNT)
        if self.data is None:
            raise ValueError("Enter a whole number.")


def real_id(value: int | None) -> int:
    """Return an id from a URL or form, or 404 for one no row can have."""
    if value is None or not 0 < value <= MAX_ID:
        abort(404)
    return value


def init_app(app: Flask) -> None:
    """Let routes take row ids with `<id:...>` (before routes are added)."""
    app.url_map.converters["id"] = IdConverter
