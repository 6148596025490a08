"""Where a store may report: its state's known API hosts, and those the server's operator adds.

A manager picks from this list in the back office; any other address (a sandbox not listed, the
emulator) is the operator's to set, with `flask tracktrace configure` or TRACKTRACE_EXTRA_URLS.
"""

import logging
import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app, has_app_context

from models.rules.packs import load_pack
from models.stores.store import TRACKTRACE_LABELS, Store

log = logging.getLogger("pistil.tracktrace")

OPERATOR_URL = re.compile(r"^https?://[^\s/@\\?#]+(/[^\s?#\\]*)?$")


@dataclass(frozen=True)
class Choice:
    """An address a manager may pick, with the words that name it."""

    system: str
    url: str
    label: str


def known(store: Store, system: str | None = None) -> list[Choice]:
    """Return the state's known hosts (https, from the rule pack), for one system or all."""
    pack = load_pack(store.rule_pack)
    return [
        Choice(address.system, address.url, f"{address.label} — {address.url}")
        for address in pack.addresses
        if system is None or address.system == system
    ]


def default_url(store: Store, system: str | None = None) -> str:
    """Return the system's default host for the store's state ("" when the state has none)."""
    system = system or store.tracktrace_system
    for address in load_pack(store.rule_pack).addresses:
        if address.system == system and address.kind == "production":
            return address.url
    return ""


def operator_urls() -> list[str]:
    """Return the extra addresses the server's operator allows (TRACKTRACE_EXTRA_URLS)."""
    raw = None
    if has_app_context():
        raw = current_app.config.get("TRACKTRACE_EXTRA_URLS")
    if raw is None:
        raw = os.environ.get("TRACKTRACE_EXTRA_URLS", "")
    urls = []
    for item in re.split(r"[\s,]+", raw.strip()):
        if not item:
            continue
        if OPERATOR_URL.match(item):
            urls.append(item.rstrip("/"))
        else:
            log.warning("TRACKTRACE_EXTRA_URLS: %r is not an http(s) address; ignored", item)
    return urls


def effective_url(store: Store, system: str | None = None, url: str | None = None) -> str:
    """Return the address reports really go to: the one set, or the system's default."""
    system = system or store.tracktrace_system
    url = store.tracktrace_base_url if url is None else url
    return url.rstrip("/") or default_url(store, system)


def choices(store: Store) -> dict[str, list[Choice]]:
    """Return the addresses a manager may pick, grouped by system, the current one included."""
    groups: dict[str, list[Choice]] = {}
    current = effective_url(store)
    extra = operator_urls()
    for system, label in TRACKTRACE_LABELS.items():
        options = known(store, system)
        options += [Choice(system, url, f"Added by the operator — {url}") for url in extra]
        mine = system == store.tracktrace_system and current
        if mine and current not in {c.url for c in options}:
            options.append(Choice(system, current, f"Set by the operator — {current}"))
        if options:
            groups[label] = options
    return groups


def allowed(store: Store, system: str, url: str) -> bool:
    """Say whether a manager may point the store's reporting for a system at this address."""
    label = TRACKTRACE_LABELS.get(system)
    if label is None:
        return False
    return any(
        choice.url == url and choice.system == system for choice in choices(store).get(label, [])
    )


def is_known(store: Store, url: str) -> bool:
    """Say whether an address is one of the state's known hosts (not the operator's)."""
    return any(choice.url == url for choice in known(store))


def host_of(url: str) -> str:
    """Return an address's host, for messages."""
    return urlsplit(url).netloc or url


def refusal(store: Store, system: str, url: str) -> str | None:
    """Return why a manager may not point the store's reporting at an address, or None."""
    url = url.strip().rstrip("/")
    if not url:
        return None
    if allowed(store, system, url):
        return None
    for label, options in choices(store).items():
        if label != TRACKTRACE_LABELS.get(system) and any(choice.url == url for choice in options):
            wanted = TRACKTRACE_LABELS.get(system)
            return f"That address is {label}'s: choose a {wanted} address or change the system."
    return (
        "Choose the address from the list. Other addresses (a sandbox not listed, the emulator) "
        "are set by the server's operator: flask tracktrace configure or TRACKTRACE_EXTRA_URLS."
    )
