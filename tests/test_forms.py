"""Every form shows its errors again, 422 for htmx, never a 500."""

import pytest

from support import PASSWORD

FORMS = [
    ("/staff/login", {}, "Enter your work email."),
    ("/staff/login", {"email": "not-an-email", "password": "x"}, "Invalid email address."),
    ("/account/login", {}, "Enter your email."),
    ("/account/signup", {}, "Enter your first name."),
    ("/account/signup", {"date_of_birth": "31/02/1990"}, "Enter your date of birth as YYYY-MM-DD."),
    (
        "/account/signup",
        {"has_medical_card": "y", "first_name": "A"},
        "Enter your medical card number, or untick the medical card box.",
    ),
    ("/age", {}, "Choose an answer to continue."),
]


@pytest.mark.parametrize(("url", "data", "message"), FORMS)
def test_invalid_forms_rerender_with_their_message(client, htmx_client, url, data, message):
    for browser, fragment in ((client, False), (htmx_client, True)):
        response = browser.post(url, data=data)
        assert response.status_code == 422, (url, response.status_code)
        body = response.get_data(as_text=True)
        assert message in body
        assert ("<html" in body) is not fragment


def test_register_forms_rerender(htmx_client, store, make_user):
    user = make_user(store)
    htmx_client.post("/staff/login", data={"email": user.email, "password": PASSWORD})
    response = htmx_client.post("/register/switch", data={"user_id": user.id})
    assert response.status_code == 422
    assert "Enter your PIN." in response.get_data(as_text=True)


def test_store_switch_with_garbage_is_a_clear_400(client, store, make_user):
    user = make_user(store, role="manager")
    client.post("/staff/login", data={"email": user.email, "password": PASSWORD})
    response = client.post("/manage/store", data={"store_id": "abc"})
    assert response.status_code == 400
