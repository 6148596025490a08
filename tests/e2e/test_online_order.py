"""Order ahead on a phone, packed and handed over at the register, followed to "picked up"."""

from datetime import timedelta

import pytest
from e2e_support import demo_served, in_own_chromium
from sqlalchemy import select

from extensions import db
from support import store_today

PHONE = (390, 844)
TABLET = (1280, 800)

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop_server(app):
    """Serve the app with the demo chain on 127.0.0.1 and return its base URL."""
    with demo_served(app) as url:
        yield url


def held_tags(app, order_id: int) -> dict[str, str]:
    """Return {product name: tag of the package held for it} for an order."""
    with app.app_context():
        return _held_tags(order_id)


def _held_tags(order_id: int) -> dict[str, str]:
    from models.sales.orders import OrderLine
    from models.stock.packages import Package, Reservation

    rows = db.session.execute(
        select(OrderLine.name, Package.tag)
        .join(Reservation, Reservation.order_id == OrderLine.order_id)
        .join(Package, (Package.id == Reservation.package_id))
        .where(OrderLine.order_id == order_id, Package.product_id == OrderLine.product_id)
    ).all()
    db.session.rollback()
    return {name: tag for name, tag in rows}


def test_phone_order_packed_and_picked_up_at_the_register(app, shop_server):
    from models.people.customers import Customer

    emily = db.session.scalar(select(Customer).where(Customer.email == "emily.park@example.com"))
    birth = emily.date_of_birth
    db.session.rollback()
    in_own_chromium(order_and_pick_up, app, shop_server, birth)


def order_and_pick_up(open_page, app, shop_server, birth) -> None:
    """The customer's phone and the budtender's tablet, step by step."""
    # A customer on a phone browses the RiNo menu.
    phone_screen = open_page(*PHONE)
    phone = phone_screen.page
    phone.goto(shop_server + "/")
    phone.get_by_role("button", name="Yes, I am").click()
    phone.get_by_role("heading", name="Order ahead, pick up in store").wait_for()
    phone.get_by_role("link", name="Pistil RiNo").click()
    phone.get_by_role("heading", name="Pistil RiNo").wait_for()
    assert phone.locator(".product-card").count() >= 24
    phone_screen.shot("online-menu-phone", full=False)

    # Filters are htmx updates with a pushed URL.
    phone.get_by_text("Filters").click()
    phone.locator(".chip-choice", has_text="Indica").click()
    phone.wait_for_url("**strain=indica**")
    # (No wait_for_function: evaluating strings would break our CSP; locators do not.)
    phone.locator(".product-card .chip-sativa").first.wait_for(state="detached")
    assert "q=&" not in phone.url  # empty fields are left out of the pushed URL
    phone.get_by_text("Filters").click()
    phone_screen.shot("online-menu-filtered-phone", full=False)

    # A product page: potency, lab status, price per gram; add two.
    phone.goto(shop_server + "/stores/den-rino")
    phone.get_by_label("Search the menu").fill("wedding cake")
    phone.wait_for_url(lambda url: "q=wedding" in url)
    phone.get_by_role("link", name="Wedding Cake 3.5g").click()
    phone.locator(".product-page").wait_for()
    assert phone.get_by_text("Lab tested").is_visible()
    phone_screen.shot("online-product-phone")
    phone.get_by_label("Quantity").select_option("2")
    phone.get_by_role("button", name="Add to cart").click()
    phone.get_by_text("Added to your cart.").wait_for()
    flower_name = phone.locator(".product-info h1").inner_text()

    # The second item from the edibles section with the one-tap Add.
    phone.goto(shop_server + "/stores/den-rino?category=edible")
    card = phone.locator(".product-card").first
    edible_name = card.locator(".product-name").inner_text()
    card.get_by_role("button", name=f"Add {edible_name} to cart").click()
    phone.locator(".cart-count", has_text="3").wait_for()

    # The cart shows the limit meter and the taxes; signing in keeps it.
    phone.locator("#cart-link").click()
    phone.get_by_role("heading", name="Your cart").wait_for()
    assert phone.get_by_text("Flower equivalent per sale").is_visible()
    phone_screen.shot("online-cart-phone")
    phone.get_by_role("link", name="Sign in to check out").click()
    phone.get_by_label("Email").fill("emily.park@example.com")
    phone.get_by_label("Password").fill("customer-demo-2026")
    phone.get_by_role("button", name="Sign in").click()
    phone.get_by_role("heading", name="Pick up at Pistil RiNo").wait_for()
    assert phone.get_by_text(edible_name).first.is_visible()
    phone.locator(".slot:not(.is-full)").first.click()
    phone_screen.shot("online-checkout-phone")
    phone.get_by_role("button", name="Place order").click()
    phone.get_by_text("Thank you! Your order is placed.").wait_for()
    order_id = int(phone.url.rstrip("/").split("/")[-1])
    phone_screen.shot("online-status-placed-phone")

    # A budtender at the register packs it by scanning the packages on the shelf.
    tags = held_tags(app, order_id)
    assert set(tags) == {flower_name, edible_name}
    tablet_screen = open_page(*TABLET)
    tablet = tablet_screen.page
    tablet.goto(shop_server + "/staff/login")
    tablet.get_by_label("Email").fill("sam@co.pistil.demo")
    tablet.get_by_label("Password").fill("pistil-demo-2026")
    tablet.get_by_role("button", name="Sign in").click()
    tablet.wait_for_url(shop_server + "/register/")
    tablet.get_by_role("link", name=f"Open online order #{order_id}").click()
    tablet.get_by_role("heading", name=f"Online order #{order_id} · Emily Park").wait_for()
    tablet.get_by_role("button", name="Accept order").click()
    for name in (flower_name, edible_name):
        box = tablet.get_by_label(f"Package tag for {name}")
        box.fill(tags[name])
        box.press("Enter")
        tablet.get_by_text(f"Packed from {tags[name]}").wait_for()
    tablet_screen.shot("online-register-packed")
    tablet.get_by_role("button", name="Mark ready for pickup").click()
    tablet.get_by_role("button", name="Check ID").wait_for()

    # The phone's status page follows by itself.
    phone.locator(".status-pill", has_text="Ready for pickup").wait_for(timeout=15000)

    # At pickup: ID, limits re-checked, payment, the same completion as a walk-in.
    tablet.get_by_text("Type the ID instead").click()
    tablet.get_by_label("Last name on the ID").fill("Park")
    tablet.get_by_label("ID number").fill("CO-E2E-0001")
    tablet.get_by_label("Date of birth").fill(birth.isoformat())
    tablet.get_by_label("ID expires").fill((store_today() + timedelta(days=900)).isoformat())
    tablet.get_by_role("button", name="Check ID").click()
    tablet.get_by_text("ID checked").first.wait_for()
    tablet_screen.shot("online-register-pay")
    tablet.get_by_role("button", name="All on debit").click()
    tablet.get_by_role("button", name="Complete pickup").click()
    tablet.wait_for_url(f"**/register/sale/{order_id}/receipt")
    tablet_screen.shot("online-register-receipt")

    phone.locator(".status-pill", has_text="Picked up").wait_for(timeout=15000)
    assert phone.get_by_text("Enjoy!").is_visible()
    phone_screen.shot("online-status-picked-up-phone")
