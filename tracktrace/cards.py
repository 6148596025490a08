"""Ask a store's state system about a medical card at the counter, and say what it said in words.

Nothing here writes: the budtender's check and the state's answer are recorded by
models.people.medical_cards. A state that is down, slow or refusing our credentials leaves the card
unverified, with a reason the budtender can act on.
"""

from models.people.medical_cards import StateAnswer
from models.stores.store import Store
from tracktrace.adapters import adapter_for
from tracktrace.base import CardNotFound, NotSupported, StateError, TryLater, Unauthorized
from tracktrace.settings import setting

STAYS_UNVERIFIED = (
    "The card stays unverified: try again in a moment. Until it is verified the customer buys "
    "as adult use."
)


def _why_no_answer(problem: StateError) -> str:
    """Return why the state gave no answer, as a budtender would say it."""
    status = problem.http_status
    if isinstance(problem, Unauthorized):
        return (
            f"it refused the store's credentials (HTTP {status}); a manager must check them in "
            "Settings"
        )
    if status == 429:
        return "it asked us to slow down"
    if status is not None and status >= 500:
        return f"it had a server error (HTTP {status})"
    if isinstance(problem, TryLater):
        if "did not answer" in problem.message:
            return f"it did not answer within {setting('TRACKTRACE_LOOKUP_TIMEOUT'):g} s"
        if "Could not reach" in problem.message:
            return "it could not be reached"
        return "the connection dropped before it answered"
    return f"it refused the lookup (HTTP {status})" if status else "it refused the lookup"


def check_card(store: Store, card_number: str) -> StateAnswer:
    """Ask the state whether a card is active; never raises, always says what happened."""
    label = {"metrc": "Metrc", "biotrack": "BioTrack"}[store.tracktrace_system]
    timeout = (setting("TRACKTRACE_CONNECT_TIMEOUT"), setting("TRACKTRACE_LOOKUP_TIMEOUT"))
    try:
        adapter = adapter_for(store, timeout=timeout)
    except StateError:
        return StateAnswer(
            "unavailable",
            f"{label} could not be asked: the store has no {label} credentials (a manager "
            f"enters them in Settings). {STAYS_UNVERIFIED}",
        )
    try:
        answer = adapter.card_status(card_number)
    except CardNotFound as refusal:
        return StateAnswer(
            "refused", f"{refusal.message} Check the number on the card; it cannot be verified."
        )
    except NotSupported as problem:
        outcome = "dry_run" if adapter.dry_run else "not_offered"
        return StateAnswer(
            outcome, f"{problem.message} Your check of the physical card is the verification."
        )
    except StateError as problem:
        return StateAnswer(
            "unavailable",
            f"{label} could not confirm the card: {_why_no_answer(problem)}. {STAYS_UNVERIFIED}",
        )
    if answer.active:
        return StateAnswer("confirmed", f"{label} confirmed the card is active.", answer.expires)
    reason = answer.reason or f"{label} says this card is not active."
    return StateAnswer("refused", f"{reason} It cannot be verified.", answer.expires)
