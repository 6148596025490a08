"""Back-office pages: the dashboard, a product's detail, switching store."""

from flask import abort, url_for
from sqlalchemy import select

from blueprints.access import (
    acting_staff,
    choose_store,
    current_store,
    store_object,
)
from blueprints.htmx import redirect_to, render
from blueprints.manage import bp
from blueprints.register.forms import StoreForm
from extensions import db
from models.catalog.products import Product
from models.compliance.outbox import status_counts
from models.infra import audit
from models.people.users import StoreMembership
from models.sales.dashboard import expiring_packages, summary


@bp.get("/")
def dashboard():
    """Show the store's figures, compliance status, expiring stock and recent activity."""
    store = current_store()
    members = db.session.scalars(
        select(StoreMembership).where(StoreMembership.store_id == store.id)
    ).all()
    return render(
        "manage/dashboard.html",
        store=store,
        figures=summary(store),
        reports=status_counts(store.id),
        expiring=expiring_packages(store),
        events=audit.recent(store.id),
        members=sorted(members, key=lambda m: m.user.name),
        store_form=StoreForm(),
    )


@bp.get("/products")
def products():
    """List the store's products with their stock."""
    store = current_store()
    rows = db.session.scalars(
        select(Product)
        .where(Product.store_id == store.id)
        .order_by(Product.category, Product.brand, Product.name)
    ).all()
    return render("manage/products.html", store=store, products=rows)


@bp.get("/products/<id:product_id>")
def product_detail(product_id: int):
    """Show one product of the current store and its packages; other stores' products are 404."""
    product = store_object(Product, product_id)
    return render("manage/product.html", store=current_store(), product=product)


@bp.post("/store")
def change_store():
    """Switch the back office to another store the manager works at."""
    form = StoreForm()
    if not form.validate_on_submit():
        abort(400)
    choose_store(acting_staff(), form.store_id.data)
    db.session.commit()
    return redirect_to(url_for("manage.dashboard"))
