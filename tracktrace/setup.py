"""Point a store at its state system and check the connection: shared by the CLI and settings."""

from dataclasses import dataclass

from jobs.lanes import Lane
from models.stores import Store
from tracktrace.adapters import adapter_for
from tracktrace.base import StateError

SYSTEMS = ("metrc", "biotrack")
METRC_KEYS = ("vendor_key", "user_key")
BIOTRACK_KEYS = ("ubi", "username", "password")


def configure(
    store: Store,
    *,
    system: str,
    url: str,
    license_number: str = "",
    credentials: dict | None = None,
    dry_run: bool = False,
) -> None:
    """Set the system, URL, license and (when given) credentials; credentials stay encrypted."""
    if system not in SYSTEMS:
        raise ValueError(f"Unknown state system {system!r}.")
    store.tracktrace_system = system
    store.tracktrace_dry_run = dry_run
    store.tracktrace_base_url = url
    store.tracktrace_license = license_number or store.tracktrace_license or store.license_number
    if credentials is not None:
        store.set_tracktrace_credentials(credentials)


def missing_credentials(store: Store) -> list[str]:
    """Name the credentials a live store still lacks for its system."""
    have = store.tracktrace_credentials()
    wanted = METRC_KEYS if store.tracktrace_system == "metrc" else BIOTRACK_KEYS
    return [key for key in wanted if not have.get(key)]


@dataclass(frozen=True)
class ConnectionCheck:
    """What a connection test found, for people."""

    ok: bool
    message: str


def check_connection(store: Store) -> ConnectionCheck:
    """Ask the store's state system whether its credentials and license work."""
    lane = Lane(store.id)
    try:
        adapter = adapter_for(store, pace=lane.pace)
        # Our own one-request-at-a-time rule holds for a test too.
        if not lane.acquire():
            return ConnectionCheck(
                False, "The license is sending reports right now; test again in a moment."
            )
        try:
            return ConnectionCheck(True, adapter.test_connection())
        finally:
            lane.release()
    except StateError as problem:
        return ConnectionCheck(False, problem.message)
