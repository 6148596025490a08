"""Tables and the rules that change them."""


def load_all() -> None:
    """Import every table module so the metadata is complete (for migrations and create_all)."""
    from models import (  # noqa: F401
        accounts,
        audit,
        cart,
        cash_drawer,
        catalog,
        compliance,
        customers,
        inventory,
        notify,
        orders,
        returns,
        stores,
        users,
    )
