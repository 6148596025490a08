"""Test a store's state-system connection under the license's one-request-at-a-time rule."""

from dataclasses import dataclass

from jobs.lanes import Lane
from models.stores.store import Store
from tracktrace.adapters import adapter_for
from tracktrace.base import StateError


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
