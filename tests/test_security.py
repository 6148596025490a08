"""CSRF on every mutation, security headers, a CSP without inline code."""

import re

import pytest

from support import PASSWORD


def _post_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or not rule.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            continue
        values = {arg: 1 for arg in rule.arguments}
        yield rule.build(values, append_unknown=False)[1]


def test_every_mutation_without_a_csrf_token_gets_400(app, client, htmx_client, store, make_user):
    routes = list(_post_routes(app))
    assert {"/staff/login", "/logout", "/account/signup", "/register/switch", "/age"} <= set(routes)
    manager = make_user(store, role="manager")
    # Signed in, so refusals come from CSRF and not from the login check.
    client.post("/staff/login", data={"email": manager.email, "password": PASSWORD})
    htmx_client.post("/staff/login", data={"email": manager.email, "password": PASSWORD})
    for url in routes:
        for browser in (client, htmx_client):
            response = browser.post(url, data={}, csrf=False)
            assert response.status_code == 400, url
            assert "This form has expired" in response.get_data(as_text=True)


def test_htmx_requests_carry_the_token_from_the_body(client):
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    assert f'hx-headers=\'{{"X-CSRFToken": "{token}"}}\'' in page


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_is_configured_for_the_csp(client):
    page = client.get("/").get_data(as_text=True)
    assert '"includeIndicatorStyles": false' in page
    assert '"allowEval": false' in page
    assert "htmx-2.0.11.min.js" in page
    assert client.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200


@pytest.mark.parametrize("url", ["/", "/staff/login", "/account/signup", "/account/login"])
def test_pages_have_no_inline_script_or_style(client, url):
    body = client.get(url).get_data(as_text=True)
    assert "<style" not in body
    assert " style=" not in body
    assert re.search(r"<script(?![^>]*\bsrc=)", body) is None
    assert re.search(r"<[^>]+\son[a-z]+\s*=", body) is None  # no inline event handlers
    assert "hx-on" not in body and "javascript:" not in body


def test_session_cookie_flags(client, store, make_user):
    user = make_user(store)
    response = client.post("/staff/login", data={"email": user.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_error_pages_are_friendly_and_htmx_errors_are_toasts(client, htmx_client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "We could not find that page" in page.get_data(as_text=True)
    fragment = htmx_client.get("/no-such-page")
    assert fragment.status_code == 404
    assert fragment.headers["HX-Retarget"] == "#toasts"
    assert "<html" not in fragment.get_data(as_text=True)
