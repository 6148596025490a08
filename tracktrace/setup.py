"""Point a store at its state system: shared by the CLI and the store's settings."""

from models.base import set_changed
from models.stores.store import Store
from tracktrace.addresses import effective_url

SYSTEMS = ("metrc", "biotrack")
METRC_KEYS = ("vendor_key", "user_key")
BIOTRACK_KEYS = ("ubi", "username", "password")
# How an audit row names each reporting setting that changed.
CHANGE_WORDS = {"tracktrace_system": "system", "tracktrace_dry_run": "mode",
                "tracktrace_base_url": "address", "tracktrace_license": "license"}  # fmt: skip


def moves(store: Store, system: str, url: str) -> bool:
    """Say whether reports would go to another system or address than now."""
    return system != store.tracktrace_system or effective_url(store, system, url) != effective_url(
        store
    )


def credentials_after(store: Store, system: str, url: str, entered: dict | None) -> dict:
    """Return the credentials a change leaves: the saved ones only while the address stays."""
    kept = {} if moves(store, system, url) else store.tracktrace_credentials()
    return {**kept, **(entered or {})}


def configure(
    store: Store,
    *,
    system: str,
    url: str,
    license_number: str = "",
    credentials: dict | None = None,
    dry_run: bool = False,
) -> list[str]:
    """Point the store at its state system; return what changed.

    `credentials` are the ones given now (encrypted when stored). Saved ones are kept only while
    the address stays: keys never follow the store to another host.
    """
    if system not in SYSTEMS:
        raise ValueError(f"Unknown state system {system!r}.")
    credentials = credentials_after(store, system, url, credentials)
    if not moves(store, system, url):
        url = store.tracktrace_base_url  # the same place, however it was written
    values = {
        "tracktrace_system": system,
        "tracktrace_dry_run": dry_run,
        "tracktrace_base_url": url.rstrip("/"),
        "tracktrace_license": license_number or store.tracktrace_license,
    }
    if values["tracktrace_license"] == store.license_number and not store.tracktrace_license:
        values["tracktrace_license"] = ""  # the store's own license, as before
    changed = [CHANGE_WORDS[name] for name in set_changed(store, values)]
    if credentials != store.tracktrace_credentials():
        store.set_tracktrace_credentials(credentials)
        changed.append("credentials")
    return changed
