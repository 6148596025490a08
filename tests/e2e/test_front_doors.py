"""The three front doors render in Chromium without console errors or CSP violations."""

import pytest
from e2e_support import Watched, demo_served, launch, require_chromium


@pytest.fixture
def live_server(app):
    """Run the app with the demo chain loaded on 127.0.0.1 and return its base URL."""
    with demo_served(app) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium from the system package (never a downloaded one)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = launch(playwright)
        yield instance
        instance.close()


@pytest.fixture
def open_page(browser):
    """Open pages at a given viewport size; every one must end without console errors."""
    contexts = []
    watched: list[Watched] = []

    def opener(width: int = 1280, height: int = 800) -> Watched:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        # A form that fails validation answers 422 on purpose; Chromium logs every 4xx.
        page = Watched(context.new_page(), expected=("status of 422",))
        watched.append(page)
        return page

    yield opener
    problems = [p for w in watched for p in w.problems]
    for context in contexts:
        context.close()
    assert problems == [], "\n".join(problems)


pytestmark = pytest.mark.e2e


def sign_in(page, base: str, path: str, email: str, password: str = "pistil-demo-2026") -> None:
    """Open a staff page and sign in on the login page it leads to."""
    page.goto(base + path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


SIZES = {"desktop": (1280, 800), "tablet": (800, 1280), "phone": (390, 844)}


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_storefront_age_gate_store_picker_and_menu(live_server, open_page, size):
    watched = open_page(*SIZES[size])
    page = watched.page
    page.goto(live_server + "/")
    assert page.get_by_role("heading", name="Welcome to Pistil").is_visible()
    watched.shot(f"storefront-gate-{size}")

    page.get_by_role("button", name="Yes, I am").click()
    page.wait_for_url(live_server + "/")
    page.get_by_role("heading", name="Order ahead, pick up in store").wait_for()
    assert page.get_by_text("Pistil Nob Hill").is_visible()
    watched.shot(f"storefront-stores-{size}")

    page.get_by_role("link", name="Pistil RiNo").click()
    page.get_by_role("heading", name="Pistil RiNo").wait_for()
    assert page.locator(".product-card").count() > 30
    page.get_by_role("link", name="Edibles", exact=True).click()
    page.wait_for_url("**category=edible")
    page.wait_for_function("document.querySelectorAll('.product-card').length < 12")
    assert "Gummies" in page.locator("#menu").inner_text()
    watched.shot(f"storefront-menu-edibles-{size}")


def test_age_gate_no_keeps_the_visitor_out(live_server, open_page):
    watched = open_page(*SIZES["phone"])
    page = watched.page
    page.goto(live_server + "/")
    page.get_by_role("button", name="No").click()
    page.get_by_text("you must be 21 or older").wait_for()
    watched.shot("storefront-gate-refused")


@pytest.mark.parametrize("size", ["desktop", "tablet"])
def test_register_sign_in_and_switch_budtender_by_pin(live_server, open_page, size):
    watched = open_page(*SIZES[size])
    page = watched.page
    page.goto(live_server + "/register/")
    page.wait_for_url("**/staff/login**")
    watched.shot(f"staff-login-{size}")
    page.get_by_label("Email").fill("diego@nm.pistil.demo")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("That email and password do not match.").wait_for()
    page.get_by_label("Password").fill("pistil-demo-2026")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server + "/register/")
    page.get_by_role("heading", name="Hi Diego — ready to sell").wait_for()
    watched.shot(f"register-home-{size}")

    page.get_by_role("link", name="Switch user").click()
    page.get_by_role("heading", name="Who is selling?").wait_for()
    page.get_by_role("link", name="Ashley Begay").click()
    page.get_by_label("PIN for Ashley Begay").wait_for()
    for digit in "8642":
        page.locator(f".key[data-key='{digit}']").click()
    watched.shot(f"register-pinpad-{size}")
    page.get_by_role("button", name="Start selling").click()
    page.get_by_role("heading", name="Hi Ashley — ready to sell").wait_for()


def test_register_wrong_pin_shows_tries_left(live_server, open_page):
    watched = open_page(*SIZES["tablet"])
    page = watched.page
    sign_in(page, live_server, "/staff/login", "sam@co.pistil.demo")
    page.wait_for_url(live_server + "/register/")
    page.get_by_role("link", name="Switch user").click()
    page.get_by_role("link", name="Priya Natarajan").click()
    page.get_by_label("PIN for Priya Natarajan").fill("0000")
    page.get_by_role("button", name="Start selling").click()
    page.get_by_text("Wrong PIN. 4 tries left.").wait_for()
    watched.shot("register-wrong-pin")


@pytest.mark.parametrize("size", ["desktop", "tablet"])
def test_back_office_sign_in_and_dashboard(live_server, open_page, size):
    watched = open_page(*SIZES[size])
    page = watched.page
    sign_in(page, live_server, "/manage/", "owner@pistil.demo")
    page.wait_for_url(live_server + "/manage/")
    page.get_by_role("heading", name="State reporting").wait_for()
    watched.shot(f"manage-dashboard-{size}")
    page.get_by_role("link", name="Products").click()
    page.get_by_role("heading", name="Products").wait_for()
    page.locator("table a").first.click()
    page.get_by_role("columnheader", name="Package tag").wait_for()
    watched.shot(f"manage-product-{size}")


def test_budtender_sees_a_clear_403_on_the_back_office(live_server, open_page):
    watched = open_page(*SIZES["tablet"])
    page = watched.page
    sign_in(page, live_server, "/staff/login", "diego@nm.pistil.demo")
    page.wait_for_url(live_server + "/register/")
    response = page.goto(live_server + "/manage/")
    assert response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    # The 403 itself is logged by Chromium as a failed resource; that is the point here.
    watched.problems = [p for p in watched.problems if "403" not in p]


@pytest.mark.parametrize("size", ["desktop", "tablet"])
def test_limits_what_if_page(live_server, open_page, size):
    watched = open_page(*SIZES[size])
    page = watched.page
    sign_in(page, live_server, "/manage/limits", "jordan@co.pistil.demo")
    page.get_by_role("heading", name="Purchase limits and taxes: what if?").wait_for()
    page.get_by_label("Line 1 category").select_option("flower")
    page.get_by_label("Line 1 net weight in grams").fill("28")
    page.get_by_label("Line 1 price each").fill("180")
    page.get_by_label("Line 2 category").select_option("concentrate")
    page.get_by_label("Line 2 net weight in grams").fill("1")
    page.get_by_label("Line 2 THC mg per unit").fill("780")
    page.get_by_label("Line 2 price each").fill("40")
    page.get_by_role("button", name="Add a line").click()
    page.get_by_label("Line 4 category").select_option("edible")
    page.get_by_label("Line 4 net weight in grams").fill("40")
    page.get_by_label("Line 4 THC mg per unit").fill("100")
    page.get_by_label("Line 4 price each").fill("18")
    page.get_by_role("button", name="Check this cart").click()
    page.get_by_role("heading", name="Over the limit").wait_for()
    assert "Flower equivalent per sale" in page.locator("#whatif-result").inner_text()
    watched.shot(f"manage-limits-over-{size}")
    page.get_by_label("Line 1 net weight in grams").fill("14")
    page.get_by_role("button", name="Check this cart").click()
    page.get_by_role("heading", name="Within the limits").wait_for()
    watched.shot(f"manage-limits-ok-{size}")
