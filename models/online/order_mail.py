"""The e-mails an online order sends its customer: placed, and ready for pickup."""

from flask import url_for

from models.infra.mail import send_later
from models.sales.orders import Order
from models.units import money


def _window(order: Order) -> str:
    if order.pickup_at is None:
        return ""
    zone = order.store.zone
    start = order.pickup_at.astimezone(zone)
    end = order.pickup_until.astimezone(zone) if order.pickup_until else start
    return f"{start:%A, %B %-d}, {start:%-I:%M %p} – {end:%-I:%M %p}"


def _status_link(order: Order) -> str:
    return url_for("storefront.order_detail", order_id=order.id, _external=True)


def send_order_placed(order: Order) -> None:
    """Write the placed order's confirmation to the outbox, in the order's transaction."""
    store = order.store
    lines = "\n".join(f"  {line.brand} {line.name}" for line in order.lines)
    body = (
        f"Thank you for your order #{order.id} at {store.name}.\n\n"
        f"Pickup: {_window(order)}\n"
        f"Where: {store.street}, {store.city}\n\n"
        f"{lines}\n\n"
        f"Total {money(order.total_cents)}, paid at pickup (cash or debit).\n"
        "Bring a valid government ID. We hold your items until the end of your pickup time.\n\n"
        f"Follow your order: {_status_link(order)}\n"
    )
    send_later(
        f"Order #{order.id} is placed",
        body,
        ref=f"order-{order.id}-placed",
        customer=order.customer,
    )


def send_order_ready(order: Order) -> None:
    """Tell the customer their order is packed and waiting at the counter."""
    store = order.store
    body = (
        f"Your order #{order.id} is ready for pickup at {store.name}, {store.street}.\n\n"
        f"Pickup: {_window(order)}\n"
        f"Total {money(order.total_cents)}, paid at pickup. Bring a valid government ID.\n\n"
        f"Follow your order: {_status_link(order)}\n"
    )
    send_later(
        f"Order #{order.id} is ready for pickup",
        body,
        ref=f"order-{order.id}-ready",
        customer=order.customer,
    )
