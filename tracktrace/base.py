"""The one interface every state adapter offers, and the answers and failures they share."""

import abc
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import cast

from models.compliance.payloads import (
    AdjustmentFact,
    Progress,
    ReportPayload,
    ReturnFact,
    SaleFact,
    VoidFact,
)


@dataclass
class Exchange:
    """One request to the state and its answer, as kept in the attempt log (no credentials)."""

    action: str
    method: str
    url: str
    request_body: str | None
    http_status: int | None = None
    response_body: str | None = None
    duration_ms: int = 0
    outcome: str = ""
    message: str | None = None
    # When the request left (our clock): the request budget is kept on these instants.
    started_at: datetime | None = None


@dataclass(frozen=True)
class StateReceipt:
    """A receipt (sale) as the state holds it, normalised for comparison with ours."""

    state_id: str
    external_number: str | None
    line_count: int
    total_cents: int
    voided: bool = False
    sold_at: str | None = None
    lines: tuple = ()


@dataclass(frozen=True)
class StatePackage:
    """An active package as the state holds it (units, or milligrams for weighed goods)."""

    tag: str
    quantity: int
    unit: str


@dataclass(frozen=True)
class CardAnswer:
    """What the state's system says about a medical card: active or not, and why not."""

    active: bool
    expires: date | None = None
    # The state's reason in words when the card is not active.
    reason: str | None = None
    # BioTrack's key for the card, which a medical dispense carries.
    card_key: str | None = None


@dataclass(frozen=True)
class Confirmation:
    """What asking the state about an unanswered earlier try found out."""

    landed: bool | None
    state_id: str | None = None
    # Set when the state cannot tell: a person has to check before anything is sent again.
    unknown_reason: str | None = None


class StateError(Exception):
    """The state did not take a request; `message` is written for the people who must act."""

    def __init__(self, message: str, *, http_status: int | None = None):
        super().__init__(message)
        self.message = message
        self.http_status = http_status


class Rejected(StateError):
    """The state refused the data (4xx): a person must fix it; sending again will not help."""


class Unauthorized(StateError):
    """The state refused our credentials or permissions (401/403): pause the license."""


class Misdirected(Unauthorized):
    """The address answered with a redirect: never followed; pause until a person checks it."""


class TryLater(StateError):
    """The state is busy, down or slow (429, 5xx, timeout, dropped connection)."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        retry_after: int | None = None,
        may_have_landed: bool = False,
    ):
        super().__init__(message, http_status=http_status)
        self.retry_after = retry_after
        # A request the state may have processed before the failure: check before resending.
        self.may_have_landed = may_have_landed


class NotSupported(Rejected):
    """The state's API has no call for this; the report must be entered by hand."""


class CardNotFound(Rejected):
    """The state holds no medical card with the number asked about."""


@dataclass
class Sent:
    """The state took a report; `state_id` is its id for it when it gives one."""

    state_id: str | None
    note: str | None = None
    exchanges: list[Exchange] = field(default_factory=list)


class Adapter(abc.ABC):
    """Report sales, voids, returns and package adjustments to one license's state system."""

    system: str = ""
    dry_run: bool = False

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def take_exchanges(self) -> list[Exchange]:
        """Return and forget the exchanges made since the last call."""
        taken, self.exchanges = self.exchanges, []
        return taken

    @abc.abstractmethod
    def report_sale(self, fact: SaleFact, *, external_number: str, request_id: str) -> Sent:
        """Record a completed sale at the state."""

    @abc.abstractmethod
    def void_sale(self, fact: VoidFact, *, sale_state_id: str, request_id: str) -> Sent:
        """Void (archive) a sale the state already holds."""

    @abc.abstractmethod
    def report_return(self, fact: ReturnFact, *, sale_state_id: str, request_id: str) -> Sent:
        """Record goods coming back from a sale the state already holds."""

    @abc.abstractmethod
    def report_adjustment(self, fact: AdjustmentFact, *, request_id: str) -> Sent:
        """Record a package quantity adjustment with its reason."""

    @abc.abstractmethod
    def find_receipt(
        self, external_number: str, *, fact: SaleFact | None = None
    ) -> StateReceipt | None:
        """Return the state's receipt carrying our external number, or None."""

    @abc.abstractmethod
    def receipts_for_day(self, day: date) -> list[StateReceipt]:
        """Return every receipt the state holds for one of the license's business days."""

    @abc.abstractmethod
    def active_packages(self) -> list[StatePackage]:
        """Return the license's active packages at the state."""

    @abc.abstractmethod
    def test_connection(self) -> str:
        """Check the credentials and the license; return what the state said, for people."""

    def card_status(self, card_number: str) -> CardAnswer:
        """Ask the state whether a medical card is active (NotSupported where it cannot tell)."""
        raise NotSupported(f"{self.label} offers no card lookup Pistil can use.")

    def before_send(self, kind: str, fact: ReportPayload) -> Progress:
        """Return what a later check of this try will need to know (kept before sending)."""
        return {}

    def confirm(self, kind: str, fact: ReportPayload, *, external_number: str, request_id: str,
                progress: Progress, sale_state_id: str | None) -> Confirmation:  # fmt: skip
        """Ask the state whether an unanswered earlier try of this report landed."""
        if kind == "sale":
            receipt = self.find_receipt(external_number, fact=cast(SaleFact, fact))
            if receipt is None:
                return Confirmation(landed=False)
            return Confirmation(landed=True, state_id=receipt.state_id)
        return Confirmation(
            landed=None,
            unknown_reason=(
                f"{self.label} cannot tell whether the earlier try of this {kind} was recorded. "
                f"Check it in {self.label}, then retry it here or mark it handled."
            ),
        )

    @property
    def label(self) -> str:
        """Return the system's name for messages."""
        return {"metrc": "Metrc", "biotrack": "BioTrack"}.get(self.system, self.system)
