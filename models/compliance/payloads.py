"""The shape of what a report says: the snapshot facts.py takes and each adapter sends.

Amounts are integer cents, quantities units or milligrams, instants ISO 8601 in UTC. The
personal numbers a patient sale needs are never stored; the sender adds them (`Private`) just
before the adapter builds its request.
"""

from typing import NotRequired, TypedDict


class LineFact(TypedDict):
    """One line as the state sees it: the package, how much, and its price."""

    line_id: int
    tag: str | None
    name: str
    quantity: int
    unit: str
    amount_cents: int


class Private(TypedDict, total=False):
    """Medical card numbers a patient or caregiver sale carries, read when it is sent."""

    patient_license: str | None
    caregiver_license: str | None
    # BioTrack V3's key for the patient's card, from the lookup before the sale.
    patient_card_key: str | None


class SaleFact(Private):
    """A completed sale."""

    order_id: int
    sold_at: str
    business_date: str
    customer_type: str
    customer_id: int | None
    patient_id: NotRequired[int | None]
    lines: list[LineFact]
    subtotal_cents: int
    tax_cents: int
    total_cents: int


class ReturnFact(SaleFact):
    """Goods back from a sale: what came back this time, and the sale as it stands now."""

    returned: list[LineFact]
    returned_at: str
    sale_external_number: str


class VoidFact(TypedDict):
    """A sale undone in full."""

    order_id: int
    sale_external_number: str
    voided_at: str
    reason: str | None


class AdjustmentFact(TypedDict):
    """A package's quantity changed by hand, with the state's reason code."""

    movement_id: int
    tag: str
    unit: str
    delta: int
    quantity_after: int
    reason_code: str | None
    note: str | None
    adjusted_at: str
    date: str


ReportPayload = SaleFact | ReturnFact | VoidFact | AdjustmentFact


class Progress(TypedDict, total=False):
    """What a sender learnt before a try that a later check of it needs."""

    quantity_before: str
