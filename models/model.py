"""The base class every table inherits: Flask-SQLAlchemy's model, typed as the declarative base."""

from typing import TYPE_CHECKING

from extensions import db

# db.Model is built at run time, so a type checker cannot see it; it is a subclass of Base.
if TYPE_CHECKING:
    from models.base import Base as Model
else:
    Model = db.Model

__all__ = ["Model"]
