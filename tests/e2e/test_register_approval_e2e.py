"""A manager's approval on a 1024x768 tablet: nobody chosen for them, the error beside the PIN."""

import pytest
from e2e_support import demo_served, in_own_chromium

pytestmark = pytest.mark.e2e

TABLET = (1024, 768)


@pytest.fixture
def sale_url(app):
    """Serve the demo with a sale of two jars open for Sam; yield the sale's address."""
    with demo_served(app) as base:
        from register_support import make_package, open_sale
        from sqlalchemy import select

        from extensions import db
        from models.catalog.products import Product
        from models.people.users import User
        from models.sales.lines import add_by_tag
        from models.stores.store import Store

        store = db.session.scalar(select(Store).where(Store.code == "den-rino"))
        sam = db.session.scalar(select(User).where(User.email == "sam@co.pistil.demo"))
        product = db.session.scalar(
            select(Product).where(Product.store_id == store.id, Product.sku == "FL-BD-35")
        )
        order = open_sale(store, sam)
        add_by_tag(order, make_package(product, 5).tag, 2)
        order_id = order.id
        db.session.commit()
        # The server's requests write: this test's session must hold no transaction.
        db.session.remove()
        yield f"{base}/register/sale/{order_id}"


def test_a_wrong_manager_pin_shows_beside_the_pin_on_a_tablet(sale_url):
    in_own_chromium(approval_on_a_tablet, sale_url, expected=("status of 422",))


def approval_on_a_tablet(open_page, sale_url):
    watched = open_page(*TABLET)
    page = watched.page
    page.goto(sale_url)
    page.get_by_label("Email").fill("sam@co.pistil.demo")
    page.get_by_label("Password").fill("pistil-demo-2026")
    page.get_by_role("button", name="Sign in").click()
    line = page.locator(".line").first
    line.wait_for()

    line.locator("summary").click()
    line.get_by_placeholder("10").fill("40")
    line.get_by_placeholder("Reason").fill("Damaged jar")
    line.get_by_role("button", name="Apply").click()
    picker = page.get_by_label("Manager approves")
    picker.wait_for()
    # Nobody is chosen for the budtender: the manager standing there picks their own name.
    assert picker.evaluate("el => el.value") == ""
    watched.shot("approval-asked-1024x768", full=False)

    picker.select_option(label="Jordan Reyes")
    page.get_by_placeholder("Manager PIN").fill("0000")
    page.locator(".line").first.get_by_role("button", name="Apply").click()
    error = page.locator(".approval .error")
    error.wait_for()
    assert "Wrong PIN" in error.inner_text()
    pin = page.get_by_placeholder("Manager PIN")
    watched.shot("approval-wrong-pin-1024x768", full=False)

    pin_box, error_box = pin.bounding_box(), error.bounding_box()
    width, height = TABLET
    for box in (pin_box, error_box):
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, box
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    # Beside it: the message starts within a line's height of the PIN box.
    gap = error_box["y"] - (pin_box["y"] + pin_box["height"])
    beside = abs(error_box["y"] - pin_box["y"]) < pin_box["height"]
    assert beside or 0 <= gap <= 16, (pin_box, error_box)
    assert pin.get_attribute("aria-describedby") == error.get_attribute("id")
    # The manager's choice stays; only the PIN is cleared for the next try.
    assert page.get_by_label("Manager approves").evaluate(
        "el => el.options[el.selectedIndex].text"
    ) == ("Jordan Reyes")
    assert pin.input_value() == ""
