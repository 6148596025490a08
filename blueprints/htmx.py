"""Every read and write of HX-* headers, so a move to another htmx helper touches one file."""

import json
from functools import wraps

from flask import Response, make_response, redirect, render_template, url_for
from htmx_flask import request
from jinja2_fragments.flask import render_block


def is_htmx() -> bool:
    """Return whether htmx sent this request (and not to restore history)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def is_boosted() -> bool:
    """Return whether the request came from an hx-boost link or form."""
    return request.htmx.boosted


def wants_fragment() -> bool:
    """Return whether to answer with a block instead of the whole page."""
    return is_htmx() and not is_boosted()


def fragment_of(endpoint: str, *carried: str):
    """Send a browser that opens a fragment's own URL (typed, or restored from history) to its page.

    `carried` names the view arguments the page's URL takes too (e.g. "order_id").
    """

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if wants_fragment():
                return view(*args, **kwargs)
            # htmx restores history with a plain GET and swaps in whatever the redirect leads to.
            return redirect(url_for(endpoint, **{name: kwargs[name] for name in carried}), 303)

        return wrapper

    return decorator


def render(template: str, block: str | None = None, status: int = 200, **context) -> Response:
    """Render the full page, or only `block` when htmx asked for a fragment."""
    if block and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    return make_response(body, status)


def form_error_status() -> int:
    """Return the status for a form that failed validation and is shown again."""
    return 422


def redirect_to(url: str) -> Response:
    """Navigate after a POST: a full load for htmx (HX-Redirect), 303 See Other otherwise."""
    # A full load, not HX-Location: signing in or out changes the session's CSRF token and the
    # page's surface, both of which live on <body>, which an htmx swap would keep.
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    response = make_response("", 303)
    response.headers["Location"] = url
    return response


def full_redirect(response: Response, url: str) -> Response:
    """Make htmx do a full page load of url (e.g. to the login page when the session ended)."""
    response.headers["HX-Redirect"] = url
    return response


def retarget(response: Response, selector: str, swap: str = "innerHTML") -> Response:
    """Send the response to another element; set HX-Reswap ourselves (htmx-flask rejects some)."""
    response.headers["HX-Retarget"] = selector
    response.headers["HX-Reswap"] = swap
    return response


def trigger(response: Response, event: str, detail: object = None) -> Response:
    """Fire a client event when the response arrives."""
    response.headers["HX-Trigger"] = json.dumps({event: detail}) if detail is not None else event
    return response


def vary_on_htmx(response: Response) -> Response:
    """Tell caches the body depends on whether htmx asked."""
    response.vary.add("HX-Request")
    return response


def navigate(url: str, target: str = "#screen", status: int = 204) -> Response:
    """Move htmx to another page of the same surface without a full load (HX-Location)."""
    # The page answers the GET with only its `target` element's block, pushed to history.
    if not is_htmx():
        response = make_response("", 303)
        response.headers["Location"] = url
        return response
    response = make_response("", status)
    response.headers["HX-Location"] = json.dumps(
        {"path": url, "target": target, "swap": "outerHTML"}
    )
    return response
