"""Manager approvals: the managers on duty here, none chosen for the budtender, tries limited."""

import re

import pytest
from register_support import make_package, make_product, open_sale

from extensions import db
from models.people.users import StoreMembership
from models.sales.orders import Order

BIG = {"kind": "percent", "value": "40", "reason": "Damaged box"}


@pytest.fixture
def cart(htmx_client, store, make_user, login_as):
    """A budtender signed in on this tablet with a sale of two $35 jars."""
    budtender = make_user(store, pin="1357")
    login_as(htmx_client, budtender)
    order = open_sale(store, budtender)
    from models.sales.lines import add_by_tag

    add_by_tag(order, make_package(make_product(store, price_cents=3500), 5).tag, 2)
    db.session.commit()
    return order


@pytest.fixture
def signed_in_elsewhere(app, login_as):
    """Sign a staff member in on another tablet (their own browser)."""

    def sign_in(user):
        login_as(app.test_client(), user)

    return sign_in


def discount(client, order, **data):
    return client.post(f"/register/sale/{order.id}/discount", data={**BIG, **data})


def picker(body: str) -> list[str]:
    """Return the manager picker's options as 'id:name' (with * for a chosen one)."""
    select = re.search(r'<select id="sale-manager" name="manager_id">(.*?)</select>', body, re.S)
    return [
        f"{value}:{name}{'*' if chosen else ''}"
        for value, chosen, name in re.findall(
            r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select.group(1)
        )
    ]


def discounted(order) -> int:
    db.session.expire_all()
    return db.session.get(Order, order.id).discount_cents


def test_the_picker_lists_the_managers_on_duty_and_chooses_nobody(
    htmx_client, cart, store, make_user, signed_in_elsewhere
):
    here = make_user(store, role="manager", pin="8642", name="Avery Here")
    make_user(store, role="manager", pin="7531", name="Blake Home")
    signed_in_elsewhere(here)
    asked = discount(htmx_client, cart)
    assert asked.status_code == 422
    assert picker(asked.get_data(as_text=True)) == [":Choose a manager", f"{here.id}:Avery Here"]


def test_with_no_manager_signed_in_every_manager_of_the_store_is_listed(
    htmx_client, cart, store, make_store, make_user
):
    first = make_user(store, role="manager", pin="8642", name="Avery Manager")
    second = make_user(store, role="admin", pin="7531", name="Blake Admin")
    make_user(store, role="manager", pin="1111", name="Casey Former", active=False)
    make_user(store, role="budtender", pin="2222", name="Drew Budtender")
    make_user(make_store(), role="manager", pin="3333", name="Eli Elsewhere")
    nopin = make_user(store, role="manager", name="Finn Nopin")
    nopin.pin_hash = None
    db.session.commit()
    options = picker(discount(htmx_client, cart).get_data(as_text=True))
    assert options == [":Choose a manager", f"{first.id}:Avery Manager", f"{second.id}:Blake Admin"]


def test_a_manager_signed_in_at_another_store_is_not_on_duty_here(
    htmx_client, cart, store, make_store, make_user, signed_in_elsewhere
):
    other_store = make_store(name="AAA Other")
    roaming = make_user(other_store, role="manager", pin="8642", name="Avery Roaming")
    roaming.memberships.append(StoreMembership(store_id=store.id, role="manager"))
    local = make_user(store, role="manager", pin="7531", name="Blake Local")
    db.session.commit()
    signed_in_elsewhere(roaming)  # at AAA Other, the first of their stores
    signed_in_elsewhere(local)
    options = picker(discount(htmx_client, cart).get_data(as_text=True))
    assert options == [":Choose a manager", f"{local.id}:Blake Local"]


def test_a_manager_who_is_not_on_duty_cannot_approve_even_with_their_pin(
    htmx_client, cart, store, make_user, signed_in_elsewhere
):
    signed_in_elsewhere(make_user(store, role="manager", pin="8642"))
    away = make_user(store, role="manager", pin="7531")
    refused = discount(htmx_client, cart, manager_id=away.id, manager_pin="7531")
    assert refused.status_code == 422
    assert "Choose the manager who approves." in refused.get_data(as_text=True)
    assert discounted(cart) == 0


def test_a_refused_approval_is_told_beside_the_pin_and_keeps_the_manager(
    htmx_client, cart, store, make_user
):
    manager = make_user(store, role="manager", pin="8642", name="Avery Manager")
    wrong = discount(htmx_client, cart, manager_id=manager.id, manager_pin="0000")
    body = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    pin = re.search(
        r'<input id="sale-pin"[^>]*>\s*<p class="error" id="([^"]+)"[^>]*>([^<]*)</p>', body
    )
    assert pin is not None, body
    assert pin.group(2) == "Wrong PIN. 4 tries left."
    assert f'aria-describedby="{pin.group(1)}"' in pin.group(0)
    assert "autofocus" in pin.group(0)
    assert body.count("Wrong PIN") == 1
    assert f"{manager.id}:Avery Manager*" in picker(body)

    badly_typed = discount(htmx_client, cart, manager_id=manager.id, manager_pin="12")
    assert "A PIN is 4 to 8 digits." in re.search(
        r'id="sale-pin-error"[^>]*>([^<]*)<', badly_typed.get_data(as_text=True)
    ).group(1)


def test_approval_tries_are_rate_limited_per_tablet_and_manager(
    app, htmx_client, cart, store, make_user
):
    app.config["PIN_LOCK_AFTER"] = 50  # the rate limit alone, not the manager's PIN lock
    manager = make_user(store, role="manager", pin="8642", name="Avery Manager")
    other = make_user(store, role="manager", pin="7531", name="Blake Manager")
    # "03" and "3" name the same manager: the limit is counted on the number.
    ids = [str(manager.id), f"0{manager.id}", f" {manager.id}", f"00{manager.id}", str(manager.id)]
    statuses = [
        discount(htmx_client, cart, manager_id=guess_id, manager_pin="0000").status_code
        for guess_id in ids
    ]
    assert statuses == [422] * 5
    blocked = discount(htmx_client, cart, manager_id=manager.id, manager_pin="8642")
    assert blocked.status_code == 429
    assert "Too many wrong tries for Avery&#39;s PIN" in blocked.get_data(as_text=True)
    assert discounted(cart) == 0
    # Another manager standing at the same tablet still approves.
    approved = discount(htmx_client, cart, manager_id=other.id, manager_pin="7531")
    assert approved.status_code == 200
    assert discounted(cart) > 0


def test_good_approvals_do_not_count_against_the_limit(app, htmx_client, cart, store, make_user):
    manager = make_user(store, role="manager", pin="8642")
    for value in ("30", "40", "50", "30", "40", "50", "45"):
        response = discount(
            htmx_client, cart, value=value, manager_id=manager.id, manager_pin="8642"
        )
        assert response.status_code == 200


def test_a_void_lists_managers_on_duty_and_chooses_nobody(
    htmx_client, store, make_user, login_as, signed_in_elsewhere
):
    from models.sales.completion import Payment, complete_sale
    from models.sales.lines import add_by_tag

    budtender = make_user(store, pin="1357")
    here = make_user(store, role="manager", pin="8642", name="Avery Here")
    make_user(store, role="manager", pin="7531", name="Blake Home")
    signed_in_elsewhere(here)
    login_as(htmx_client, budtender)
    order = open_sale(store, budtender)
    add_by_tag(order, make_package(make_product(store), 5).tag, 1)
    complete_sale(order, [Payment("debit", order.total_cents)], "void-token", budtender)
    db.session.commit()
    page = htmx_client.get(f"/register/sale/{order.id}/receipt").get_data(as_text=True)
    select = re.search(r'<select id="void-manager" name="manager_id">(.*?)</select>', page, re.S)
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select.group(1))
    assert options == [("", "", "Choose a manager"), (str(here.id), "", "Avery Here")]
    wrong = htmx_client.post(
        f"/register/sale/{order.id}/void",
        data={"reason": "Wrong jar", "manager_id": here.id, "manager_pin": "0000"},
    )
    assert wrong.status_code == 422
    beside_the_pin = (
        r'aria-describedby="void-pin-error"[^>]*>\s*'
        r'<p class="error" id="void-pin-error"[^>]*>Wrong PIN'
    )
    assert re.search(beside_the_pin, wrong.get_data(as_text=True))
