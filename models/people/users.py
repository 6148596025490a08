"""Staff accounts, their store memberships and roles, and server-side login sessions."""

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, bindparam, select
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from extensions import db
from models.base import utcnow
from models.infra.passwords import hash_secret, verify_secret
from models.model import Model
from models.stores.store import Store

ROLES = ("budtender", "manager", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}


class User(UserMixin, Model):
    """A staff member who signs in with email and password, and on the register with a PIN."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    pin_failures: Mapped[int] = mapped_column(default=0)
    pin_locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list["StoreMembership"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    def get_id(self) -> str:
        return f"staff:{self.id}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def first_name(self) -> str:
        """Return the name a colleague would call out."""
        return self.name.split()[0]

    def set_password(self, password: str) -> None:
        """Hash and store a new password."""
        self.password_hash = hash_secret(password)

    def check_password(self, password: str) -> bool:
        """Return whether the password matches."""
        return verify_secret(self.password_hash, password)

    def set_pin(self, pin: str) -> None:
        """Hash and store a new register PIN."""
        self.pin_hash = hash_secret(pin)

    def check_pin(self, pin: str) -> bool:
        """Return whether the register PIN matches."""
        return self.pin_hash is not None and verify_secret(self.pin_hash, pin)

    def role_at(self, store: Store) -> str | None:
        """Return this user's role at a store, or None when they do not work there."""
        for membership in self.memberships:
            if membership.store_id == store.id:
                return membership.role
        return None

    def has_role(self, store: Store, minimum: str) -> bool:
        """Return whether the user holds at least the given role at a store."""
        role = self.role_at(store)
        return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]

    def stores(self) -> list[Store]:
        """Return the stores this user works at, by name."""
        return sorted((m.store for m in self.memberships), key=lambda s: s.name)

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class StoreMembership(Model):
    """A staff member's role at one store."""

    __tablename__ = "store_membership"
    __table_args__ = (
        UniqueConstraint("user_id", "store_id"),
        CheckConstraint("role IN ('budtender', 'manager', 'admin')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))

    user: Mapped[User] = relationship(back_populates="memberships")
    store: Mapped[Store] = relationship()


def staff_at(store: Store) -> list[User]:
    """Return the active staff of a store who have a register PIN, by name."""
    return list(
        db.session.scalars(
            select(User)
            .join(StoreMembership)
            .where(
                StoreMembership.store_id == store.id,
                User.active.is_(True),
                User.pin_hash.is_not(None),
            )
            .order_by(User.name)
        )
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginSession(Model):
    """One signed-in browser: the cookie holds a random token, this row decides if it still counts.

    Flask's cookie session alone would keep working after logout if it were copied, so every request
    checks this row, and logout revokes it.
    """

    __tablename__ = "login_session"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (customer_id IS NULL)", name="exactly_one_principal"),
    )

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    # A staff browser's register state lives here, not in the cookie, so an old copy of the
    # cookie can neither unlock the screen nor bring back who acted before.
    store_id: Mapped[int | None] = mapped_column(
        ForeignKey("store.id", ondelete="CASCADE"), index=True
    )
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    active_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_at: Mapped[datetime | None]

    user: Mapped[User | None] = relationship(viewonly=True, foreign_keys=[user_id])
    operator: Mapped[User | None] = relationship(viewonly=True, foreign_keys=[operator_id])

    @classmethod
    def open(
        cls,
        *,
        user_id: int | None = None,
        customer_id: int | None = None,
        store_id: int | None = None,
    ) -> str:
        """Start a session row and return the token for the cookie."""
        token = secrets.token_urlsafe(32)
        db.session.add(
            cls(
                token_hash=_digest(token),
                user_id=user_id,
                customer_id=customer_id,
                store_id=store_id,
            )
        )
        return token

    @classmethod
    def find(cls, token: str | None, with_staff: bool = False) -> "LoginSession | None":
        """Return the session row for a cookie token, with its staff member and stores if asked."""
        if not token:
            return None
        result = db.session.execute(_session_query(with_staff), {"token_hash": _digest(token)})
        return result.unique().scalar_one_or_none()

    def is_live(self, idle: timedelta, absolute: timedelta, now: datetime) -> bool:
        """Return whether the session is neither revoked, idle too long, nor too old."""
        return (
            self.revoked_at is None
            and now - self.last_seen_at <= idle
            and now - self.created_at <= absolute
        )

    def revoke(self) -> None:
        """End the session for good."""
        self.revoked_at = utcnow()

    @property
    def acting_id(self) -> int | None:
        """Return the id of the staff member acting: the last to enter a PIN, else who signed in."""
        return self.operator_id or self.user_id

    def hand_to(self, user: User, now: datetime) -> None:
        """Make `user` the one acting in this browser (they entered their PIN) and unlock it."""
        self.operator_id = user.id
        self.locked_at = None
        self.active_at = now

    def lock(self, now: datetime) -> None:
        """Lock the screen until someone enters a PIN."""
        if self.locked_at is None:
            self.locked_at = now

    def idle_for(self, now: datetime) -> timedelta:
        """Return how long nobody has used this browser (polling does not count)."""
        return now - self.active_at


@cache
def _session_query(with_staff: bool):
    """Build the session read once per shape: it runs on every signed-in request."""
    query = select(LoginSession).where(LoginSession.token_hash == bindparam("token_hash"))
    if with_staff:
        # Every staff page asks for the role and the store next: one query answers all three.
        query = query.options(
            joinedload(LoginSession.user)
            .joinedload(User.memberships)
            .joinedload(StoreMembership.store),
            joinedload(LoginSession.operator)
            .joinedload(User.memberships)
            .joinedload(StoreMembership.store),
        )
    return query


def managers_on_duty(
    store: Store, idle: timedelta, absolute: timedelta, now: datetime
) -> list[User]:
    """Return who may approve at a store now: its managers signed in there, else all of them.

    There is no time clock, so "on duty" means a manager (or admin) of the store, active and with
    a PIN, who signed in or entered their PIN in a live session at this store. When none is, every
    such manager of the store is listed, so a store whose manager works from the back room can
    still approve.
    """
    managers = [u for u in staff_at(store) if u.has_role(store, "manager")]
    live = db.session.execute(
        select(LoginSession.user_id, LoginSession.operator_id).where(
            LoginSession.store_id == store.id,
            LoginSession.user_id.is_not(None),
            LoginSession.revoked_at.is_(None),
            LoginSession.last_seen_at >= now - idle,
            LoginSession.created_at >= now - absolute,
        )
    ).all()
    present = {user_id for row in live for user_id in row if user_id is not None}
    return [u for u in managers if u.id in present] or managers
