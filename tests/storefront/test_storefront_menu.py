"""Point 1: the menu with filters, search and sort (htmx and plain GET), and product pages."""

from datetime import timedelta

from storefront_support import add_package, enter, stock

from extensions import db
from models.base import utcnow
from models.sales.orders import Order
from models.stock.packages import Reservation
from support import store_today


def names(page: str, *candidates: str) -> list[str]:
    return [name for name in candidates if name in page]


def test_filters_narrow_the_menu(client, store):
    stock(store, "Purple Punch", strain_type="indica", thc_pct_bp=2400, brand="Mesa Farms",
          price_cents=4500)  # fmt: skip
    stock(store, "Lemon Haze", strain_type="sativa", thc_pct_bp=1800, brand="Sun Co",
          price_cents=2500)  # fmt: skip
    stock(store, "Calm Drops", category="tincture", limit_category="tincture", strain_type="cbd",
          thc_pct_bp=None, thc_mg=50, brand="Sun Co", price_cents=3200)  # fmt: skip
    enter(client)
    url = f"/stores/{store.code}"
    everything = ("Purple Punch", "Lemon Haze", "Calm Drops")

    def shown(**args):
        return names(client.get(url, query_string=args).get_data(as_text=True), *everything)

    assert shown() == list(everything)
    assert shown(strain=["indica", "cbd"]) == ["Purple Punch", "Calm Drops"]
    assert shown(brand="Sun Co") == ["Lemon Haze", "Calm Drops"]
    assert shown(thc_min="20") == ["Purple Punch"]
    assert shown(thc_min="10", thc_max="19") == ["Lemon Haze"]
    assert shown(price_min="30", price_max="40") == ["Calm Drops"]
    assert shown(q="haze") == ["Lemon Haze"]
    assert shown(q="sun drops") == ["Calm Drops"]
    assert shown(category="tincture") == ["Calm Drops"]
    # A value that is not a number is ignored rather than failing the page.
    response = client.get(url, query_string={"thc_min": "lots", "price_max": "-3"})
    assert response.status_code == 200
    assert names(response.get_data(as_text=True), *everything) == list(everything)


def test_sorting(client, store):
    stock(store, "Mid Price", price_cents=3000, thc_pct_bp=1500)
    stock(store, "Cheap One", price_cents=1000, thc_pct_bp=2500)
    stock(store, "Dear One", price_cents=9000, thc_pct_bp=2000)
    enter(client)

    def order(sort):
        page = client.get(f"/stores/{store.code}", query_string={"sort": sort}).get_data(True)
        return sorted(("Mid Price", "Cheap One", "Dear One"), key=page.index)

    assert order("price_low") == ["Cheap One", "Mid Price", "Dear One"]
    assert order("price_high") == ["Dear One", "Mid Price", "Cheap One"]
    assert order("thc_high") == ["Cheap One", "Dear One", "Mid Price"]
    assert order("name") == ["Cheap One", "Dear One", "Mid Price"]


def test_in_stock_is_the_default_and_can_be_turned_off(client, store):
    stock(store, "On Shelf", quantity=3)
    stock(store, "Gone", quantity=None)
    enter(client)
    page = client.get(f"/stores/{store.code}").get_data(as_text=True)
    assert names(page, "On Shelf", "Gone") == ["On Shelf"]
    # The submitted form without the box ticked shows sold-out products too, marked.
    page = client.get(f"/stores/{store.code}?filtered=1").get_data(as_text=True)
    assert names(page, "On Shelf", "Gone") == ["On Shelf", "Gone"]
    assert "Sold out" in page


def test_unsellable_packages_do_not_count(client, store):
    stock(store, "Expired", expires_on=store_today() - timedelta(days=1))
    stock(store, "Held", on_hold=True)
    stock(store, "Untested", lab_status="pending")
    stock(store, "Good")
    enter(client)
    page = client.get(f"/stores/{store.code}").get_data(as_text=True)
    assert names(page, "Expired", "Held", "Untested", "Good") == ["Good"]


def test_htmx_gets_the_results_block_and_the_form_pushes_urls(client, htmx_client, store):
    stock(store, "Grinder", category="accessory", limit_category=None, strain_type="none")
    stock(store, "Blue Dream")
    enter(client)
    page = client.get(f"/stores/{store.code}").get_data(as_text=True)
    assert 'hx-push-url="true"' in page and 'method="get"' in page
    assert 'id="menu"' in page
    enter(htmx_client)
    response = htmx_client.get(f"/stores/{store.code}?category=accessory&q=grind")
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in fragment and fragment.lstrip().startswith('<section id="menu"')
    assert "Grinder" in fragment and "Blue Dream" not in fragment
    assert "HX-Request" in response.headers["Vary"]
    # The section tabs keep the other filters.
    assert "q=grind" in fragment


def test_show_more_pages_through_a_long_menu(client, htmx_client, store):
    for n in range(40):
        stock(store, f"Strain {n:02d}")
    enter(client)
    page = client.get(f"/stores/{store.code}?sort=name").get_data(as_text=True)
    assert page.count('class="product-card') == 36 and "Show more" in page
    assert "Strain 39" not in page
    page2 = client.get(f"/stores/{store.code}?sort=name&page=2").get_data(as_text=True)
    assert page2.count('class="product-card') == 4 and "<html" in page2
    enter(htmx_client)
    more = htmx_client.get(f"/stores/{store.code}?sort=name&page=2").get_data(as_text=True)
    assert "<html" not in more and 'id="menu"' not in more
    assert more.count('class="product-card') == 4 and "Strain 39" in more


def test_product_page_shows_potency_lab_coa_and_price_per_gram(client, store):
    product = stock(store, "Wedding Cake 3.5g", thc_pct_bp=2470, cbd_pct_bp=10, net_weight_mg=3500,
                    price_cents=4500, coa_url="https://lab.example/coa/123.pdf",
                    description="Dense, sweet buds.")  # fmt: skip
    enter(client)
    page = client.get(f"/stores/{store.code}/products/{product.id}").get_data(as_text=True)
    assert "Wedding Cake 3.5g" in page
    assert "24.7%" in page and "3.5 g" in page
    assert "Lab tested" in page
    assert 'href="https://lab.example/coa/123.pdf"' in page
    assert "$45.00" in page and "$12.86 / g" in page
    assert "10 available now" in page
    assert "Dense, sweet buds." in page


def test_product_sold_by_weight_offers_amounts_with_their_prices(client, store):
    product = stock(store, "House Shake", quantity=None, sold_by="weight", price_cents=800,
                    net_weight_mg=None, thc_mg=None)  # fmt: skip
    add_package(product, 100_000)
    enter(client)
    page = client.get(f"/stores/{store.code}/products/{product.id}").get_data(as_text=True)
    assert "$8.00<small> per gram" in page
    assert '<option value="3500">3.5 g · $28.00</option>' in page
    assert "100 g available now" in page


def test_live_availability_counts_holds(client, htmx_client, store):
    product = stock(store, "Last Ones", quantity=3)
    order = Order(store_id=store.id, channel="web", status="placed")
    db.session.add(order)
    db.session.flush()
    db.session.add(Reservation(order_id=order.id, package_id=product.packages[0].id, quantity=2,
                               expires_at=utcnow() + timedelta(minutes=30)))  # fmt: skip
    db.session.commit()
    enter(htmx_client)
    fragment = htmx_client.get(f"/stores/{store.code}/products/{product.id}/availability").get_data(
        as_text=True
    )
    assert "1 available now" in fragment and "<html" not in fragment
    assert 'hx-trigger="every 30s"' in fragment


def test_products_of_other_stores_or_hidden_are_404(client, store, make_store):
    other = make_store()
    theirs = stock(other, "Elsewhere")
    hidden = stock(store, "Hidden", online_visible=False)
    off = stock(store, "Switched Off", active=False)
    enter(client)
    for product in (theirs, hidden, off):
        assert client.get(f"/stores/{store.code}/products/{product.id}").status_code == 404


def test_the_age_gate_sends_the_visitor_back_where_they_were(client, store):
    product = stock(store, "Deep Link")
    url = f"/stores/{store.code}/products/{product.id}"
    response = client.get(url)
    assert response.status_code == 302 and "next=" in response.headers["Location"]
    gate = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Welcome to Pistil" in gate
    answered = client.post(f"/age?next={url}", data={"answer": "yes"})
    assert answered.headers["Location"].endswith(url)
    assert (
        client.post("/age?next=//evil.example", data={"answer": "yes"})
        .headers["Location"]
        .endswith("/")
    )
