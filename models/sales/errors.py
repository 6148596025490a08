"""What a register sale refuses, each with the message to show and its HTTP status."""


class SaleError(Exception):
    """A change to a sale that cannot be made, with the message to show and the HTTP status."""

    status = 422

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class StockConflict(SaleError):
    """The shelf cannot cover the sale: unknown stock, on hold, failed lab, out of stock."""

    status = 409


class LimitConflict(SaleError):
    """The change would break a purchase limit or sell a product the limit engine refuses."""

    status = 409


class NeedsApproval(SaleError):
    """A discount or a return beyond the store's thresholds needs a manager's PIN."""
