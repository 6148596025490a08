"""The dry run: builds the exact payload the real adapter would send and records it instead."""

from datetime import date

from models.compliance.payloads import (
    AdjustmentFact,
    Progress,
    ReportPayload,
    ReturnFact,
    SaleFact,
    VoidFact,
)
from tracktrace.base import (
    Adapter,
    CardAnswer,
    Confirmation,
    Exchange,
    NotSupported,
    Sent,
    StatePackage,
    StateReceipt,
)
from tracktrace.biotrack.common import sale_type
from tracktrace.biotrack.legacy import BioTrackLegacyAdapter
from tracktrace.biotrack.v3 import BioTrackV3Adapter
from tracktrace.http import Call, mask_personal
from tracktrace.metrc import MetrcAdapter

RealAdapter = MetrcAdapter | BioTrackV3Adapter | BioTrackLegacyAdapter


class DryRunAdapter(Adapter):
    """Record, never send: used by the demo stores and by any store set to dry run."""

    dry_run = True

    def __init__(self, real: RealAdapter):
        super().__init__()
        self.real = real
        self.system = real.system

    def record(self, call: Call) -> None:
        """Keep a planned call as the exchange it would have been."""
        self.exchanges.append(
            Exchange(
                action="dry_run",
                method=call.method,
                url=call.url_for_people(),
                request_body=mask_personal(call.body_text()),
                outcome="recorded",
                message="Dry run: recorded, not sent.",
            )
        )

    def record_rpc(self, fields: dict, action: str) -> None:
        """Keep a legacy RPC as the envelope it would have sent, without a session id."""
        assert isinstance(self.real, BioTrackLegacyAdapter)
        body = self.real.envelope(action, fields)
        self.record(Call("dry_run", "POST", "", body=body, content_type="text/JSON"))

    def report_sale(self, fact: SaleFact, *, external_number: str, request_id: str) -> Sent:
        real = self.real
        if isinstance(real, MetrcAdapter):
            self.record(real.plan_sale(fact, external_number))
        elif isinstance(real, BioTrackV3Adapter):
            if sale_type(fact) == "MEDICAL":
                # The card lookup comes first; its key is the state's to give, not ours.
                self.record(real.plan_card_lookup(fact))
            self.record(real.plan_sale(fact, external_number, request_id))
        else:
            self.record_rpc(real.plan_sale(fact, external_number, request_id), "sale_dispense")
        # A numeric stand-in id, so a later void or return can be planned exactly too.
        return Sent(external_number, note="dry run")

    def void_sale(self, fact: VoidFact, *, sale_state_id: str, request_id: str) -> Sent:
        real = self.real
        if isinstance(real, MetrcAdapter):
            self.record(real.plan_void(sale_state_id))
        elif isinstance(real, BioTrackV3Adapter):
            self.record(real.plan_void(sale_state_id, request_id))
        else:
            self.record_rpc(real.plan_void(sale_state_id, request_id), "sale_void")
        return Sent(sale_state_id, note="dry run")

    def report_return(self, fact: ReturnFact, *, sale_state_id: str, request_id: str) -> Sent:
        real = self.real
        if isinstance(real, MetrcAdapter):
            self.record(real.plan_return(fact, sale_state_id))
        elif isinstance(real, BioTrackV3Adapter):
            self.record(real.plan_return(fact, sale_state_id, request_id))
        else:
            self.record_rpc(real.plan_return(fact, sale_state_id, request_id), "sale_refund")
        return Sent(sale_state_id, note="dry run")

    def report_adjustment(self, fact: AdjustmentFact, *, request_id: str) -> Sent:
        real = self.real
        if isinstance(real, BioTrackLegacyAdapter):
            self.record_rpc(real.plan_adjustment(fact, request_id), "inventory_adjust")
        else:
            self.record(real.plan_adjustment(fact))
        return Sent(None, note="dry run")

    def find_receipt(
        self, external_number: str, *, fact: SaleFact | None = None
    ) -> StateReceipt | None:
        return None

    def receipts_for_day(self, day: date) -> list[StateReceipt]:
        return []

    def active_packages(self) -> list[StatePackage]:
        return []

    def confirm(self, kind: str, fact: ReportPayload, *, external_number: str, request_id: str,
                progress: Progress, sale_state_id: str | None) -> Confirmation:  # fmt: skip
        # Nothing ever left: recording again is harmless.
        return Confirmation(landed=False)

    def card_status(self, card_number: str) -> CardAnswer:
        raise NotSupported(f"Dry run: {self.real.label} was not asked about the card.")

    def test_connection(self) -> str:
        return (
            f"Dry run: nothing is sent to {self.real.label}; each report's exact payload is "
            "recorded on the report instead."
        )
