"""Building a register sale: add packages and products, change quantities, drop lines.

An open order (channel "register", status "open") holds the lines, so a reload or another tablet
picks up the work where it was. Every change recomputes the limits and taxes through the same
engine as the online cart, and a change that adds stock is checked against the shelf.
"""

from sqlalchemy import select

from extensions import db
from models.catalog.products import Product
from models.infra import audit
from models.people.users import User
from models.sales.amounts import DEFAULT_GRAMS_MG, MAX_EACH, MAX_GRAMS_MG, amount_label
from models.sales.errors import SaleError, StockConflict
from models.sales.orders import Order, OrderLine
from models.sales.scanning import check_stock, find_package, in_cart
from models.sales.totals import SaleState, recompute, refuse_if_over, snapshot
from models.stock.packages import Package
from models.stock.queries import available, fefo_order, held_by_others, sellable


def editable(order: Order) -> None:
    """Refuse a change to a sale that is no longer open at the register."""
    if order.channel != "register" or order.status != "open":
        raise SaleError("This sale is no longer open; start a new one from the queue.")


def _check_quantity(unit: str, quantity: int) -> None:
    if unit == "grams":
        if quantity <= 0 or quantity > MAX_GRAMS_MG:
            raise SaleError("Enter a weight above 0 g (up to 1,000 g).")
    elif quantity <= 0 or quantity > MAX_EACH:
        raise SaleError(f"Enter a quantity from 1 to {MAX_EACH}.")


def _line_unit(package: Package) -> str:
    product = package.product
    unit = "grams" if product.sold_by == "weight" else "each"
    if (unit == "grams") != (package.unit == "grams"):
        raise StockConflict(
            f"Package {package.tag} is counted in {package.unit} but {product.name} is sold "
            f"{'by weight' if unit == 'grams' else 'by the unit'}; fix it in the back office."
        )
    return unit


def add_package(
    order: Order, package: Package, quantity: int | None = None, held: int | None = None
) -> SaleState:
    """Add a package to an open sale (merging with its line), or refuse with the reason."""
    # `held` is what other orders hold of the package, when the caller read it with the package.
    editable(order)
    if package.store_id != order.store_id:
        raise StockConflict(
            f"Package {package.tag} belongs to another store's inventory and cannot be sold here."
        )
    unit = _line_unit(package)
    if quantity is None:
        quantity = DEFAULT_GRAMS_MG if unit == "grams" else 1
    _check_quantity(unit, quantity)
    check_stock(order, package, quantity, held=held)
    line = next((ln for ln in order.lines if ln.package_id == package.id), None)
    product = package.product
    if line is None:
        line = OrderLine(
            product_id=product.id,
            package_id=package.id,
            name=product.name,
            brand=product.brand,
            sku=product.sku,
            category=product.category,
            package_tag=package.tag,
            quantity=quantity,
            unit=unit,
            unit_price_cents=product.price_cents,
        )
        order.lines.append(line)
    else:
        line.quantity += quantity
        _check_quantity(unit, line.quantity)
    snapshot(line, product)
    state = refuse_if_over(recompute(order))
    state.changed = line
    return state


def add_by_tag(order: Order, scanned: str, quantity: int | None = None) -> SaleState:
    """Add the exact package a scanned tag names."""
    editable(order)
    package, held = find_package(order.store, scanned, order)
    return add_package(order, package, quantity, held)


def add_product(order: Order, product: Product, quantity: int | None = None) -> SaleState:
    """Add a product from the menu, selling from the package the register proposes."""
    editable(order)
    if product.store_id != order.store_id:
        raise SaleError("That product is not on this store's menu.")
    if not product.active:
        raise StockConflict(f"{product.name} is switched off on the menu and cannot be sold.")
    wanted = quantity or (DEFAULT_GRAMS_MG if product.sold_by == "weight" else 1)
    today = order.store.business_date()
    candidates = list(
        db.session.scalars(
            select(Package)
            .where(
                Package.product_id == product.id,
                Package.store_id == order.store_id,
                sellable(today),
            )
            .order_by(*fefo_order())
        )
    )
    held = held_by_others([p.id for p in candidates], order.id)
    free = {p.id: available(p, held) - in_cart(order, p.id) for p in candidates}
    for package in candidates:
        if free[package.id] >= wanted:
            return add_package(order, package, wanted)
    left = sum(max(n, 0) for n in free.values())
    if not candidates or left == 0:
        raise StockConflict(f"Out of stock: no sellable package of {product.name} is left.")
    sample = candidates[0]
    if left < wanted:
        raise StockConflict(
            f"Out of stock: only {amount_label(sample, left)} of {product.name} is left."
        )
    raise StockConflict(
        f"No single package of {product.name} holds {amount_label(sample, wanted)}; "
        f"the fullest has {amount_label(sample, max(free.values()))}. "
        "Scan each package to sell from two."
    )


def line_of(order: Order, line_id: int) -> OrderLine:
    """Return a line of the sale by id, or refuse (404) when it is gone."""
    line = next((ln for ln in order.lines if ln.id == line_id), None)
    if line is None:
        raise SaleError("That line is no longer on this sale.", status=404)
    return line


def set_quantity(order: Order, line_id: int, quantity: int) -> SaleState:
    """Change a line's quantity (units, or milligrams for bulk); more is checked against stock."""
    editable(order)
    line = line_of(order, line_id)
    _check_quantity(line.unit, quantity)
    growing = quantity > line.quantity
    if growing:
        package = db.session.get_one(Package, line.package_id)
        check_stock(order, package, quantity, skip=line)
    line.quantity = quantity
    snapshot(line, db.session.get_one(Product, line.product_id))
    state = recompute(order)
    return refuse_if_over(state) if growing else state


def remove_line(order: Order, line_id: int) -> SaleState:
    """Take a line off an open sale."""
    editable(order)
    order.lines.remove(line_of(order, line_id))
    return recompute(order)


def claim(order: Order, user: User) -> None:
    """Make a budtender the one serving an open sale (they took it from the queue)."""
    if order.channel == "register" and order.status == "open" and order.budtender_id != user.id:
        order.budtender_id = user.id


def cancel_sale(order: Order, user: User, reason: str = "") -> None:
    """Drop an open register sale that will not be paid (the customer left)."""
    editable(order)
    order.status = "cancelled"
    audit.record(
        "sale.cancel",
        store_id=order.store_id,
        user_id=user.id,
        obj=order,
        reason=(reason or "customer left")[:300],
        lines=len(order.lines),
    )
