"""Roles and ownership: budtenders stay out of the back office; others' rows answer 404."""

from extensions import db
from models.catalog.products import Product
from models.sales.orders import Order
from support import store_today


def _product(store):
    product = Product(
        store_id=store.id, sku="P-1", name="Gummies", brand="B", category="edible",
        limit_category="edible", net_weight_mg=40000, thc_mg=100, price_cents=1800,
    )  # fmt: skip
    db.session.add(product)
    db.session.commit()
    return product


def test_budtender_gets_403_on_the_back_office(client, htmx_client, store, make_user, login_as):
    budtender = make_user(store)
    login_as(client, budtender)
    assert client.get("/manage/").status_code == 403
    assert client.get("/manage/products").status_code == 403
    assert "Your role does not give access" in client.get("/manage/").get_data(as_text=True)
    assert client.get("/register/").status_code == 200


def test_manager_and_admin_reach_the_back_office(client, store, make_user, login_as):
    login_as(client, make_user(store, role="admin"))
    assert client.get("/manage/").status_code == 200


def test_another_stores_product_is_404(client, make_store, make_user, login_as):
    ours, theirs = make_store(), make_store()
    mine, other = _product(ours), _product(theirs)
    login_as(client, make_user(ours, role="manager"))
    assert client.get(f"/manage/products/{mine.id}").status_code == 200
    assert client.get(f"/manage/products/{other.id}").status_code == 404


def test_switching_to_a_store_you_do_not_work_at_is_404(client, make_store, make_user, login_as):
    ours, theirs = make_store(), make_store()
    login_as(client, make_user(ours, role="manager"))
    assert client.post("/manage/store", data={"store_id": theirs.id}).status_code == 404


def test_manager_of_two_stores_switches_between_them(client, make_store, make_user, login_as):
    from models.people.users import StoreMembership

    first, second = make_store(name="Alpha"), make_store(name="Beta")
    manager = make_user(first, role="manager")
    manager.memberships.append(StoreMembership(store_id=second.id, role="manager"))
    db.session.commit()
    login_as(client, manager)
    other = _product(second)
    assert client.get(f"/manage/products/{other.id}").status_code == 404
    assert client.post("/manage/store", data={"store_id": second.id}).status_code == 303
    assert client.get(f"/manage/products/{other.id}").status_code == 200


def test_one_customer_never_sees_another_customers_order(client, store, make_customer, login_as):
    alice = make_customer(email="alice@example.com")
    bob = make_customer(email="bob@example.com")
    order = Order(store_id=store.id, channel="web", status="placed", customer_id=bob.id,
                  business_date=store_today())  # fmt: skip
    db.session.add(order)
    db.session.commit()
    login_as(client, alice)
    assert client.get(f"/account/orders/{order.id}").status_code == 404
    client.post("/logout")
    login_as(client, bob)
    assert client.get(f"/account/orders/{order.id}").status_code == 200


def test_anonymous_visitors_are_sent_to_the_right_login(client):
    assert client.get("/register/").headers["Location"].startswith("/staff/login")
    assert client.get("/account").headers["Location"].startswith("/account/login")
