"""Where a browser may be sent after a form: back to a page of this site, never elsewhere."""

from urllib.parse import urlsplit

from flask import request
from werkzeug.urls import iri_to_uri


def is_local_path(target: str) -> bool:
    """Say whether a ?next= value is a plain path on this site.

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so
    "/\\t/evil.example" and "/\\\\evil.example" lead to another host: any whitespace, control
    character or backslash is refused, and so is anything with a scheme or a host.
    """
    if not target.startswith("/") or target.startswith("//"):
        return False
    if any(ch == "\\" or ch.isspace() or not ch.isprintable() for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(default: str | None) -> str | None:
    """Return the ?next= (or form field) path when it stays on this site, else the default."""
    target = request.values.get("next") or ""
    # Headers carry ASCII only: "/café" goes out as "/caf%C3%A9" (also in HX-Redirect).
    return iri_to_uri(target) if is_local_path(target) else default
