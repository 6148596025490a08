"""The dry run: builds the exact payload the real adapter would send and records it instead."""

from tracktrace.base import Adapter, Confirmation, Exchange, NotSupported, Sent
from tracktrace.biotrack.common import sale_type
from tracktrace.biotrack.legacy import BioTrackLegacyAdapter
from tracktrace.http import Call, mask_personal


class DryRunAdapter(Adapter):
    """Record, never send: used by the demo stores and by any store set to dry run."""

    dry_run = True

    def __init__(self, real: Adapter):
        super().__init__()
        self.real = real
        self.system = real.system

    def record(self, call: Call | dict, action_name: str | None = None) -> None:
        if isinstance(call, dict):
            # The legacy RPC: the envelope as sent, without a session id.
            body = self.real.envelope(action_name, call)
            call = Call("dry_run", "POST", "", body=body, content_type="text/JSON")
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

    def legacy(self) -> bool:
        return isinstance(self.real, BioTrackLegacyAdapter)

    def report_sale(self, fact, *, external_number, request_id) -> Sent:
        if self.system == "metrc":
            self.record(self.real.plan_sale(fact, external_number))
        else:
            if not self.legacy() and sale_type(fact) == "MEDICAL":
                # The card lookup comes first; its key is the state's to give, not ours.
                self.record(self.real.plan_card_lookup(fact))
            self.record(self.real.plan_sale(fact, external_number, request_id), "sale_dispense")
        # A numeric stand-in id, so a later void or return can be planned exactly too.
        return Sent(external_number, note="dry run")

    def void_sale(self, fact, *, sale_state_id, request_id) -> Sent:
        if self.system == "metrc":
            self.record(self.real.plan_void(sale_state_id))
        else:
            self.record(self.real.plan_void(sale_state_id, request_id), "sale_void")
        return Sent(sale_state_id, note="dry run")

    def report_return(self, fact, *, sale_state_id, request_id) -> Sent:
        if self.system == "metrc":
            self.record(self.real.plan_return(fact, sale_state_id))
        else:
            self.record(self.real.plan_return(fact, sale_state_id, request_id), "sale_refund")
        return Sent(sale_state_id, note="dry run")

    def report_adjustment(self, fact, *, request_id) -> Sent:
        if self.legacy():
            self.record(self.real.plan_adjustment(fact, request_id), "inventory_adjust")
        else:
            self.record(self.real.plan_adjustment(fact))
        return Sent(None, note="dry run")

    def find_receipt(self, external_number, *, fact=None):
        return None

    def receipts_for_day(self, day):
        return []

    def active_packages(self):
        return []

    def confirm(self, kind, fact, **_):
        # Nothing ever left: recording again is harmless.
        return Confirmation(landed=False)

    def card_status(self, card_number: str):
        raise NotSupported(f"Dry run: {self.real.label} was not asked about the card.")

    def test_connection(self) -> str:
        return (
            f"Dry run: nothing is sent to {self.real.label}; each report's exact payload is "
            "recorded on the report instead."
        )
