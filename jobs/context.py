"""Run job functions inside the Flask app, with a clean database session each time."""

from functools import wraps

from flask import current_app, has_app_context

from extensions import db


def _app():
    # The app's factory imports jobs/ (they carry what models ask for): read it when a job runs.
    from app import create_app

    return create_app()


def in_app_context(func):
    """Make a job function run inside an app context and leave no session behind."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        # current_app is a LocalProxy; its stubs type it as the Flask object it stands for.
        app = current_app._get_current_object() if has_app_context() else _app()  # type: ignore[attr-defined]
        # A fresh context gives the job its own session, even when it runs inline after a commit.
        with app.app_context():
            try:
                return func(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper
