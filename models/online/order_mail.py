"""The e-mails an online order sends its customer: placed, and ready for pickup."""

from flask import url_for

from models.infra.mail import render_body, send_later
from models.sales.orders import Order


def _status_link(order: Order) -> str:
    return url_for("storefront.order_detail", order_id=order.id, _external=True)


def send_order_placed(order: Order) -> None:
    """Write the placed order's confirmation to the outbox, in the order's transaction."""
    send_later(
        f"Order #{order.id} is placed",
        render_body("order_placed", order=order, status_link=_status_link(order)),
        ref=f"order-{order.id}-placed",
        customer=order.customer,
    )


def send_order_ready(order: Order) -> None:
    """Tell the customer their order is packed and waiting at the counter."""
    send_later(
        f"Order #{order.id} is ready for pickup",
        render_body("order_ready", order=order, status_link=_status_link(order)),
        ref=f"order-{order.id}-ready",
        customer=order.customer,
    )
