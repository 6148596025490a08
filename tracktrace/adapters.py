"""Pick and build the adapter for a store from its settings and encrypted credentials."""

from collections.abc import Callable
from typing import TypedDict
from zoneinfo import ZoneInfo

from models.stores.store import Store
from tracktrace.addresses import effective_url
from tracktrace.base import Adapter, Unauthorized
from tracktrace.biotrack.legacy import BioTrackLegacyAdapter
from tracktrace.biotrack.v3 import BioTrackV3Adapter
from tracktrace.dryrun import DryRunAdapter, RealAdapter
from tracktrace.metrc import MetrcAdapter
from tracktrace.settings import setting


class Connection(TypedDict):
    """What every real adapter is built with, whatever its system."""

    base_url: str
    license_number: str
    zone: ZoneInfo
    timeout: tuple[float, float]
    pace: Callable[[], None] | None


def uses_biotrack_v3(store: Store, credentials: dict) -> bool:
    """Return whether a BioTrack store talks to the V3 REST API (New Mexico) or the legacy RPC."""
    api = credentials.get("api")
    if api:
        return api == "v3"
    return store.state == "NM"


def timeouts() -> tuple[float, float]:
    """Return the (connect, read) timeouts for a request to the state."""
    return (setting("TRACKTRACE_CONNECT_TIMEOUT"), setting("TRACKTRACE_READ_TIMEOUT"))


def adapter_for(
    store: Store,
    *,
    pace: Callable[[], None] | None = None,
    timeout: tuple[float, float] | None = None,
) -> Adapter:
    """Return the adapter a store reports through (the dry run for dry-run stores)."""
    credentials = store.tracktrace_credentials()
    license_number = store.tracktrace_license or store.license_number
    base_url = effective_url(store)
    if not store.tracktrace_dry_run and not credentials:
        raise Unauthorized(
            f"{store.name} has no {store.tracktrace_label} credentials. Reporting for this "
            "license is paused: enter them in the back office's Settings (or with `flask "
            "tracktrace configure`), then resume it."
        )
    if not store.tracktrace_dry_run and not base_url:
        raise Unauthorized(
            f"{store.name} has no {store.tracktrace_label} address: the state's rules list none "
            "for it. Reporting for this license is paused until the server's operator sets one "
            "with `flask tracktrace configure`."
        )
    common: Connection = {
        # A dry run only plans paths; nothing is sent, so an empty address is harmless there.
        "base_url": base_url or "https://invalid.example",
        "license_number": license_number,
        "zone": store.zone,
        "timeout": timeout or timeouts(),
        "pace": pace,
    }
    if store.tracktrace_system == "metrc":
        real: RealAdapter = MetrcAdapter(
            vendor_key=credentials.get("vendor_key", ""),
            user_key=credentials.get("user_key", ""),
            state=store.state,
            **common,
        )
    else:
        cls = BioTrackV3Adapter if uses_biotrack_v3(store, credentials) else BioTrackLegacyAdapter
        real = cls(
            ubi=credentials.get("ubi", ""),
            username=credentials.get("username", ""),
            password=credentials.get("password", ""),
            **common,
        )
    return DryRunAdapter(real) if store.tracktrace_dry_run else real
