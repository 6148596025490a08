"""What the online menu shows: visible products, filtered and sorted, with stock after holds."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import case, func, or_, select

from extensions import db
from models.base import utcnow
from models.catalog.products import MENU_CATEGORIES, STRAIN_TYPES, Product
from models.stock.packages import Package
from models.stock.queries import fefo_order, free_column, held_by_package, sellable
from models.stores.store import Store

PER_PAGE = 36
SORTS = {
    "featured": "Featured",
    "price_low": "Price: low to high",
    "price_high": "Price: high to low",
    "thc_high": "THC: high to low",
    "name": "Name A–Z",
}
# Price per gram helps compare sizes of smokables; for edibles it would only mislead.
PER_GRAM_CATEGORIES = ("flower", "preroll", "vape", "concentrate")


def online_stores() -> list[Store]:
    """Return the stores that take online orders, by name."""
    return list(
        db.session.scalars(
            select(Store).where(Store.online_ordering.is_(True)).order_by(Store.name)
        )
    )


def availability(product: Product, now: datetime | None = None) -> int:
    """Return how much of a product can still be ordered: on hand minus unexpired holds."""
    now = now or utcnow()
    held = held_by_package(now)
    free = free_column(held)
    today = product.store.business_date(now)
    total = db.session.scalars(
        select(func.coalesce(func.sum(case((free > 0, free), else_=0)), 0))
        .select_from(Package)
        .outerjoin(held, held.c.package_id == Package.id)
        .where(Package.product_id == product.id, sellable(today))
    ).one()
    return int(total)


@dataclass(frozen=True)
class MenuFilters:
    """What the shopper asked the menu for; empty fields do not filter."""

    category: str | None = None
    q: str = ""
    strains: tuple[str, ...] = ()
    brand: str | None = None
    thc_min_bp: int | None = None
    thc_max_bp: int | None = None
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    in_stock: bool = True
    sort: str = "featured"

    @property
    def active(self) -> int:
        """Count the filters in use besides the section and sort (for the Filters button)."""
        return sum(
            [
                bool(self.q),
                bool(self.strains),
                bool(self.brand),
                self.thc_min_bp is not None or self.thc_max_bp is not None,
                self.price_min_cents is not None or self.price_max_cents is not None,
                not self.in_stock,
            ]
        )


@dataclass(frozen=True)
class MenuItem:
    """A product on the menu with what is available of it."""

    product: Product
    available: int


@dataclass(frozen=True)
class MenuPage:
    """One page of menu results."""

    items: list[MenuItem]
    total: int
    page: int
    per_page: int
    filters: MenuFilters = field(default_factory=MenuFilters)

    @property
    def has_more(self) -> bool:
        """Say whether another page follows."""
        return self.page * self.per_page < self.total


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _with_free_stock(store: Store, now: datetime):
    """Return a subquery of the store's product ids with sellable stock that is not all held."""
    # One hash-joined pass over the store's packages and the open holds; a correlated EXISTS
    # per product was twice as slow on PostgreSQL.
    held = held_by_package(now)
    return (
        select(Package.product_id)
        .outerjoin(held, held.c.package_id == Package.id)
        .where(
            Package.store_id == store.id,
            sellable(store.business_date(now)),
            free_column(held) > 0,
        )
    )


def _filtered(store: Store, filters: MenuFilters, now: datetime):
    in_stock = Product.id.in_(_with_free_stock(store, now))
    query = select(Product).where(
        Product.store_id == store.id,
        Product.active.is_(True),
        Product.online_visible.is_(True),
    )
    if filters.in_stock:
        query = query.where(in_stock)
    if filters.category in MENU_CATEGORIES:
        query = query.where(Product.category == filters.category)
    strains = [s for s in filters.strains if s in STRAIN_TYPES]
    if strains:
        query = query.where(Product.strain_type.in_(strains))
    if filters.brand:
        query = query.where(Product.brand == filters.brand)
    if filters.thc_min_bp is not None:
        query = query.where(Product.thc_pct_bp >= filters.thc_min_bp)
    if filters.thc_max_bp is not None:
        query = query.where(Product.thc_pct_bp <= filters.thc_max_bp)
    if filters.price_min_cents is not None:
        query = query.where(Product.price_cents >= filters.price_min_cents)
    if filters.price_max_cents is not None:
        query = query.where(Product.price_cents <= filters.price_max_cents)
    for word in filters.q.split()[:6]:
        pattern = f"%{_escape_like(word)}%"
        query = query.where(
            or_(
                Product.name.ilike(pattern, escape="\\"),
                Product.brand.ilike(pattern, escape="\\"),
                Product.strain.ilike(pattern, escape="\\"),
            )
        )
    return query, in_stock


def _ordered(query, filters: MenuFilters, in_stock):
    section = case({c: i for i, c in enumerate(MENU_CATEGORIES)}, value=Product.category, else_=99)
    orders = {
        "price_low": (Product.price_cents, Product.name),
        "price_high": (Product.price_cents.desc(), Product.name),
        "thc_high": (func.coalesce(Product.thc_pct_bp, -1).desc(), Product.name),
        "name": (Product.name,),
    }
    chosen = orders.get(filters.sort, (section, Product.brand, Product.name))
    if not filters.in_stock:
        # Sold-out products shown on request come after everything that can be ordered.
        chosen = (case((in_stock, 0), else_=1), *chosen)
    return query.order_by(*chosen, Product.id)


def available_by_product(product_ids: list[int], today: date, now: datetime) -> dict[int, int]:
    """Return what can be ordered of each product: sellable stock minus unexpired holds."""
    if not product_ids:
        return {}
    held = held_by_package(now)
    free = free_column(held)
    rows = db.session.execute(
        select(Package.product_id, func.sum(case((free > 0, free), else_=0)))
        .outerjoin(held, held.c.package_id == Package.id)
        .where(Package.product_id.in_(product_ids), sellable(today))
        .group_by(Package.product_id)
    )
    return {product_id: int(total) for product_id, total in rows}


def search_menu(
    store: Store, filters: MenuFilters, page: int = 1, per_page: int = PER_PAGE
) -> MenuPage:
    """Return one page of a store's menu under the shopper's filters and sort."""
    now = utcnow()
    page = max(page, 1)
    query, in_stock = _filtered(store, filters, now)
    ordered = _ordered(query, filters, in_stock).limit(per_page).offset((page - 1) * per_page)
    total = None
    if db.session.get_bind().dialect.name == "postgresql":
        # PostgreSQL counts the matches in the same pass (a window); SQLite would copy every
        # row for it, so there a second, narrow count query is cheaper.
        rows = db.session.execute(ordered.add_columns(func.count().over())).all()
        products = [row[0] for row in rows]
        total = rows[0][1] if rows else None
    else:
        products = list(db.session.scalars(ordered))
    if total is None:
        total = db.session.scalar(query.with_only_columns(func.count(Product.id)))
    stock = available_by_product([p.id for p in products], store.business_date(now), now)
    items = [MenuItem(product, stock.get(product.id, 0)) for product in products]
    return MenuPage(items, int(total), page, per_page, filters)


def menu(store: Store, category: str | None = None) -> list[tuple[Product, int]]:
    """Return the store's visible in-stock products with their available quantity."""
    result = search_menu(store, MenuFilters(category=category), per_page=100_000)
    return [(item.product, item.available) for item in result.items]


def menu_categories(store: Store) -> list[str]:
    """Return the menu sections that have at least one visible product, in menu order."""
    present = set(
        db.session.scalars(
            select(Product.category)
            .where(
                Product.store_id == store.id,
                Product.active.is_(True),
                Product.online_visible.is_(True),
            )
            .distinct()
        )
    )
    return [c for c in MENU_CATEGORIES if c in present]


def menu_brands(store: Store) -> list[str]:
    """Return the brands on a store's online menu, by name."""
    return list(
        db.session.scalars(
            select(Product.brand)
            .where(
                Product.store_id == store.id,
                Product.active.is_(True),
                Product.online_visible.is_(True),
            )
            .distinct()
            .order_by(Product.brand)
        )
    )


def price_per_gram_cents(product: Product) -> int | None:
    """Return the price per gram where it helps compare (smokables sold by the unit)."""
    if product.sold_by == "weight":
        return product.price_cents
    if product.category not in PER_GRAM_CATEGORIES or not product.net_weight_mg:
        return None
    cents = Decimal(product.price_cents) * Decimal(1000) / Decimal(product.net_weight_mg)
    return int(cents.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class ProductDetail:
    """What the product page shows: the product, stock, lab status and its certificate."""

    product: Product
    available: int
    lab_status: str
    coa_url: str | None
    price_per_gram_cents: int | None


def product_detail(store: Store, product_id: int) -> ProductDetail | None:
    """Return a product of a store's online menu with its live stock and lab facts, or None."""
    product = db.session.get(Product, product_id)
    if (
        product is None
        or product.store_id != store.id
        or not product.active
        or not product.online_visible
    ):
        return None
    now = utcnow()
    today = store.business_date(now)
    # The package the next order would come from (first to expire) speaks for the lab result.
    package = db.session.scalar(
        select(Package)
        .where(Package.product_id == product.id, sellable(today))
        .order_by(*fefo_order())
        .limit(1)
    )
    coa = package.coa_url if package is not None else None
    if coa is None:
        coa = db.session.scalar(
            select(Package.coa_url)
            .where(Package.product_id == product.id, Package.coa_url.is_not(None), sellable(today))
            .limit(1)
        )
    return ProductDetail(
        product=product,
        available=availability(product, now),
        lab_status=package.lab_status if package is not None else "none",
        coa_url=coa,
        price_per_gram_cents=price_per_gram_cents(product),
    )
