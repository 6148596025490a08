"""On a 1024×768 landscape tablet a sale fits one screen; storefront and back office fit too."""

from datetime import timedelta

import pytest
from e2e_support import demo_served, in_own_chromium

from support import store_today

pytestmark = pytest.mark.e2e

TABLET = (1024, 768)
PHONE = (390, 844)
PASSWORD = "pistil-demo-2026"
# A typical sale in the Colorado demo store: flower, a pre-roll, a cartridge, gummies, flower.
FIVE_TAGS = ("FL-BD-35", "PR-BD-1", "VP-BD-05", "ED-GUM-WM", "FL-GG-35")
# What a finger taps: anything smaller than 44 px is too small (WCAG 2.5.5, Apple's HIG).
TAPPABLE = (
    "button, .btn, summary, select, .tab, .chip-choice, .qty-btn, .topnav a, .subnav a, "
    "input[type=text], input[type=search], input[type=email], input[type=password], "
    "input[type=date], input[type=tel], input[type=number]"
)

ROW_TOPS = """(selector) => {
  const bar = document.querySelector(selector);
  const wanted = 'a, button, select, .topbar-store-name, .operator-chip';
  const items = [...bar.querySelectorAll(wanted)].filter((el) => el.getClientRects().length
    && getComputedStyle(el).visibility !== 'hidden' && !el.parentElement.closest(wanted));
  return items.map((el) => [el.textContent.trim().slice(0, 30), el.getBoundingClientRect().top]);
}"""
CUT_PLACEHOLDERS = """() => [...document.querySelectorAll('[placeholder]')]
  .filter((input) => input.getClientRects().length && input.placeholder)
  .map((input) => {
    const style = getComputedStyle(input, '::placeholder');
    const context = document.createElement('canvas').getContext('2d');
    context.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const room = input.clientWidth - parseFloat(style.paddingLeft)
      - parseFloat(style.paddingRight);
    return [input.id || input.name, Math.ceil(context.measureText(input.placeholder).width), room];
  })
  .filter(([, width, room]) => width > room)"""
SMALL_TARGETS = """(selector) => [...document.querySelectorAll(selector)]
  .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden'
    && !el.closest('[hidden], .visually-hidden'))
  .map((el) => [el.tagName + ' ' + (el.textContent || el.placeholder || el.name || '').trim()
    .slice(0, 40), Math.round(el.getBoundingClientRect().height)])
  .filter(([, height]) => height < 44)"""
FITS_ACROSS = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def live_server(app):
    """Run the app with the demo chain loaded on 127.0.0.1 and return its base URL."""
    with demo_served(app) as url:
        yield url


def demo_tag(sku: str) -> str:
    """Return the demo Metrc tag of a product's first package in the Colorado store."""
    from models.demo.catalog import CATALOG
    from models.demo.seed import _metrc_tag

    index = next(i for i, item in enumerate(CATALOG) if item.sku == sku)
    return _metrc_tag(1000 + index * 10)


def sign_in(page, base: str, path: str, email: str) -> None:
    page.goto(base + path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def one_row(page, selector: str) -> None:
    """Assert every item of a header starts at the same height: one row, nothing wrapped."""
    tops = page.evaluate(ROW_TOPS, selector)
    assert len(tops) >= 3, tops
    first = tops[0][1]
    assert all(abs(top - first) <= 1 for _, top in tops), tops


def in_view(page, selector: str) -> None:
    """Assert an element is wholly inside the viewport, without scrolling."""
    box = page.locator(selector).first.bounding_box()
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    assert box is not None, selector
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, (selector, box)
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, box)


def big_enough(page) -> None:
    """Assert nothing is too small to tap, no placeholder is cut off, nothing scrolls sideways."""
    small = page.evaluate(SMALL_TARGETS, TAPPABLE)
    assert small == [], sorted({tuple(s) for s in small})
    assert page.evaluate(CUT_PLACEHOLDERS) == []
    assert page.evaluate(FITS_ACROSS), "the page scrolls sideways"


def test_a_five_line_sale_fits_a_landscape_tablet(live_server):
    in_own_chromium(five_line_sale, live_server, expected=("status of 409", "status of 422"))


def five_line_sale(open_page, live_server):
    watched = open_page(*TABLET)
    page = watched.page
    sign_in(page, live_server, "/staff/login?next=/register/", "sam@co.pistil.demo")
    page.get_by_role("heading", name="Check a customer in").wait_for()
    one_row(page, ".topbar-register")
    big_enough(page)
    watched.shot("tablet-register-home", full=False)
    page.get_by_text("No scanner? Type the ID in by hand").click()
    page.get_by_label("Date of birth").fill("1980-05-05")
    page.get_by_label("ID expires").fill((store_today() + timedelta(days=400)).isoformat())
    page.get_by_label("ID number").fill("CO-TABLET-0005")
    page.get_by_role("button", name="Check in walk-in").click()
    page.locator("#tag-scan").wait_for()
    for n, sku in enumerate(FIVE_TAGS, 1):
        page.locator("#tag-scan").fill(demo_tag(sku))
        page.locator("#tag-scan").press("Enter")
        page.locator("#cart .line").nth(n - 1).wait_for()
    assert page.locator("#tag-scan").evaluate("el => el === document.activeElement")
    watched.shot("tablet-register-sale", full=False)
    one_row(page, ".topbar-register")
    # What a budtender watches while scanning: the box, every line, the limits and the taxes.
    for selector in ("#tag-scan", "#cart .line >> nth=4", ".limit-meter", ".cart-limits table"):
        in_view(page, selector)
    assert page.locator("#cart .line").count() == 5
    big_enough(page)


def test_the_back_office_and_the_storefront_fit_a_tablet_and_a_phone(live_server):
    in_own_chromium(back_office_and_storefront, live_server)


def back_office_and_storefront(open_page, live_server):
    watched = open_page(*TABLET)
    page = watched.page
    sign_in(page, live_server, "/staff/login?next=/manage/", "jordan@co.pistil.demo")
    page.get_by_role("heading", name="Pistil RiNo").wait_for()
    one_row(page, ".topbar-manage")
    big_enough(page)
    watched.shot("tablet-manage-dashboard", full=False)
    for width, height, name in (*TABLET, "tablet"), (*PHONE, "phone"):
        shopper = open_page(width, height)
        page = shopper.page
        page.goto(live_server + "/")
        page.get_by_role("button", name="Yes, I am").click()
        page.get_by_role("link", name="Pistil RiNo").first.click()
        page.locator(".product-card").first.wait_for()
        one_row(page, ".topbar-store")
        big_enough(page)
        shopper.shot(f"{name}-storefront-menu", full=False)
