"""Who is at the counter: an ID matched to a customer's record, and audited identity edits.

The stored identity (name, date of birth, ID number, issuing state, ID expiry) changes only by
an explicit edit that a manager makes or approves with a reason; the audit names the fields that
changed, never their values. The first ID number seen for a record is recorded, and audited too.
"""

from datetime import date

from sqlalchemy import select

from extensions import db
from models.infra import audit
from models.people.customers import (
    Customer,
    find_by_id_number,
    find_by_name_and_birth,
    fold_name,
    id_number_hash,
    name_key,
)
from models.people.id_scan import IdDocument
from models.people.users import User
from models.stores.store import Store

# The fields an identity edit may change, as the audit names them.
IDENTITY_FIELDS = (
    "first_name", "last_name", "date_of_birth", "id_number", "id_state", "id_expires",
)  # fmt: skip


class IdentityMismatch(ValueError):
    """The ID does not belong to the record it was matched against; the message says how."""


class IdentityEditRefused(ValueError):
    """An identity edit that cannot be made; `status` is 403 without a manager, else 422."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status


def _fmt(day: date) -> str:
    return day.strftime("%b %-d, %Y")


def names_match(customer: Customer, first: str, last: str, middle: str = "") -> bool:
    """Say whether the name on an ID is the customer's (accents, case and dashes aside)."""
    on_file = customer.name_key or name_key(customer.first_name, customer.last_name)
    keys = {name_key(first, last)}
    if middle:
        keys.add(name_key(f"{first} {middle}", last))
    return on_file in keys


def last_names_match(customer: Customer, last: str) -> bool:
    """Say whether a typed last name is the customer's (accents, case and dashes aside)."""
    return bool(fold_name(last)) and fold_name(last) == fold_name(customer.last_name)


def same_id_number(customer: Customer, number: str) -> bool | None:
    """Say whether an ID number is the one on file (None when none is on file yet)."""
    if customer.id_number_hash is None:
        return None
    return customer.id_number_hash == id_number_hash(number)


def person_for_document(document: IdDocument) -> Customer | None:
    """Find the record of the person whose ID was scanned: by ID number, then name and birth."""
    for customer in find_by_id_number(document.id_number):
        if customer.date_of_birth == document.date_of_birth and customer.id_state in (
            None,
            document.state,
        ):
            return customer
    namesakes = find_by_name_and_birth(document.first_name, document.last_name,
                                       document.date_of_birth)  # fmt: skip
    if document.middle_name:
        namesakes += find_by_name_and_birth(
            f"{document.first_name} {document.middle_name}",
            document.last_name,
            document.date_of_birth,
        )
    if not namesakes:
        return None
    for customer in namesakes:
        if customer.id_number_hash is None:
            return customer
    found = namesakes[0]
    raise IdentityMismatch(
        f"{found.name}, born {_fmt(found.date_of_birth)}, has a different ID on file. If this "
        "is their new ID, a manager can update it on their record (Returning customer → Edit "
        "identity); otherwise check the ID."
    )


def record_first_id(customer: Customer, number: str, state: str, store: Store, user: User) -> None:
    """Record the ID number of a record that has none yet (the first ID seen for it)."""
    if customer.id_number_hash is not None:
        return
    customer.id_number = number
    customer.id_state = state
    if customer.id is not None:
        audit.record(
            "customer.identity_recorded",
            store_id=store.id,
            user_id=user.id,
            customer_id=customer.id,
            fields=["id_number", "id_state"],
        )


def may_edit_identity(user: User, store: Store) -> bool:
    """Say whether a staff member may change stored identity on their own (managers)."""
    return user.has_role(store, "manager")


def edit_identity(
    store: Store,
    customer: Customer,
    user: User,
    *,
    approver: User | None,
    reason: str,
    first_name: str,
    last_name: str,
    date_of_birth: date,
    id_number: str | None,
    id_state: str | None,
    id_expires: date | None,
) -> list[str]:
    """Change a customer's stored identity; a manager does it or approves it, with a reason."""
    _require_manager(store, user, approver)
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise IdentityEditRefused("Say why the identity on file changes (for the audit trail).")
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    if not first_name or not last_name:
        raise IdentityEditRefused("A customer needs a first and a last name.")
    number = (id_number or "").strip()
    if number:
        _refuse_number_of_another(customer, number, id_state or customer.id_state)
    wanted = {
        "first_name": first_name[:80],
        "last_name": last_name[:80],
        "date_of_birth": date_of_birth,
        "id_state": (id_state or "").strip().upper() or customer.id_state,
        "id_expires": id_expires or customer.id_expires,
    }
    changed = _apply_identity(customer, wanted, number)
    audit.record(
        "customer.identity_edited",
        store_id=store.id,
        user_id=user.id,
        customer_id=customer.id,
        reason=reason[:300],
        fields=changed,
        approved_by=approver.id if approver is not None else None,
    )
    return changed


def _require_manager(store: Store, user: User, approver: User | None) -> None:
    """Refuse an identity edit that neither a manager makes nor a manager approves."""
    if may_edit_identity(user, store):
        return
    if approver is None or not approver.has_role(store, "manager"):
        raise IdentityEditRefused(
            "Only a manager can change a customer's identity: ask a manager to approve with "
            "their PIN.",
            403,
        )


def _refuse_number_of_another(customer: Customer, number: str, state: str | None) -> None:
    """Refuse an ID number that another record holds (for the same state, or any state)."""
    taken = [c for c in find_by_id_number(number) if c.id != customer.id]
    if any(c.id_state in (None, state) for c in taken):
        raise IdentityEditRefused(
            "That ID number is on another customer's record. Check the ID; a manager can "
            "look into the two records."
        )


def _apply_identity(customer: Customer, wanted: dict[str, object], number: str) -> list[str]:
    """Set the fields that differ and give their names in form order; refuse when none do."""
    changed = [name for name, value in wanted.items() if getattr(customer, name) != value]
    for name in changed:
        setattr(customer, name, wanted[name])
    if number and same_id_number(customer, number) is not True:
        customer.id_number = number
        changed.append("id_number")
    if not changed:
        raise IdentityEditRefused("Nothing changed: the record already says this.")
    changed.sort(key=IDENTITY_FIELDS.index)
    return changed


def identity_changes(
    customer_id: int, limit: int = 10
) -> list[tuple[audit.AuditEvent, str | None]]:
    """Return the latest identity changes of a record, newest first, with who approved each."""
    events = list(
        db.session.scalars(
            select(audit.AuditEvent)
            .where(
                audit.AuditEvent.customer_id == customer_id,
                audit.AuditEvent.action.in_(
                    ("customer.identity_edited", "customer.identity_recorded")
                ),
            )
            .order_by(audit.AuditEvent.id.desc())
            .limit(limit)
        )
    )
    ids = {e.details.get("approved_by") for e in events} - {None}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
    return [(event, _approver_name(event, names)) for event in events]


def _approver_name(event: audit.AuditEvent, names: dict[int, str]) -> str | None:
    """Name the manager who approved an identity change, if one did."""
    approver = event.details.get("approved_by")
    return names.get(approver) if isinstance(approver, int) else None
