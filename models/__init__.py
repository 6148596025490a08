"""Tables and the rules that change them."""


def load_all() -> None:
    """Import every table module so the metadata is complete (for migrations and create_all)."""
    from models.catalog import products  # noqa: F401
    from models.compliance import outbox  # noqa: F401
    from models.infra import audit, mail  # noqa: F401
    from models.online import cart  # noqa: F401
    from models.people import accounts, customers, users  # noqa: F401
    from models.sales import cash_drawer, orders, returns  # noqa: F401
    from models.stock import packages  # noqa: F401
    from models.stores import store  # noqa: F401
