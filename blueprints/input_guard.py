"""Refuse text no column can hold (a NUL byte) before any view reads it, with a clear message."""

from itertools import chain

from flask import Flask, request

from blueprints.errors import refusal
from blueprints.htmx import form_error_status, is_htmx

NUL = "\x00"


def _texts():
    """Yield every name and value the request carries in its path, query string and form."""
    yield from (value for value in (request.view_args or {}).values() if isinstance(value, str))
    for name, value in chain(request.args.items(multi=True), request.form.items(multi=True)):
        yield name
        yield value


def init_app(app: Flask) -> None:
    """Check every request's text before its view runs."""

    @app.before_request
    def refuse_nul_bytes():
        # PostgreSQL refuses NUL in text and SQLite would store it: turn it away on both.
        if any(NUL in text for text in _texts()):
            return refusal(
                form_error_status() if is_htmx() else 400,
                "That text cannot be used",
                "It holds an invisible NUL character, often pasted from another program. "
                "Type it again and retry.",
            )
        return None
