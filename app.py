"""The Pistil application factory; `flask --app app ...` finds create_app."""

import logging
import secrets

from flask import Flask, g, has_request_context, request
from sqlalchemy import event

import config as settings
from blueprints import register_blueprints
from blueprints.manage.cli import limits_cli, taxes_cli
from blueprints.security import init_security
from extensions import csrf, db, htmx, limiter, login_manager, migrate
from jobs import mail, reconcile, reports  # noqa: F401 - they carry what models ask for after commit
from jobs.holds import holds_cli
from jobs.mail import mail_cli
from jobs.queues import init_jobs
from jobs.tracktrace_cli import tracktrace_cli
from jobs.worker import worker_command
from models import load_all
from models.demo.seed import seed_demo_command
from models.infra import transactions
from models.infra.crypto import FieldCipher


def create_app(config: dict | None = None) -> Flask:
    """Create and configure the app; `config` overrides settings read from the environment."""
    app = Flask(__name__, instance_path=str(settings.INSTANCE_DIR))
    app.config.update(settings.load(config))
    logging.basicConfig(level=app.config["LOG_LEVEL"])

    app.extensions["pistil.cipher"] = FieldCipher(app.config["FIELD_ENCRYPTION_KEY"])
    load_all()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _tune_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
        # After db.init_app: teardowns run last-registered first, so this precedes its rollback.
        transactions.install(app, db.engine)

    @app.before_request
    def tag_request():
        g.request_id = secrets.token_hex(8)

    init_security(app)
    register_blueprints(app)
    init_jobs(app)
    _register_commands(app)
    return app


def _tune_sqlite(engine, busy_timeout_ms: int) -> None:
    """Use WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE for writing transactions."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Take transaction control from the sqlite3 module so "begin" below decides the mode.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql(_sqlite_begin_statement())


def _sqlite_begin_statement() -> str:
    """Choose IMMEDIATE for transactions that may write, so they queue instead of failing."""
    # A deferred transaction that later writes cannot wait for the lock (SQLITE_BUSY at once);
    # reading pages stay deferred so they never queue behind a sale.
    if has_request_context() and request.method in ("GET", "HEAD", "OPTIONS"):
        return "BEGIN"
    return "BEGIN IMMEDIATE"


def _register_commands(app: Flask) -> None:

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(limits_cli)
    app.cli.add_command(taxes_cli)
    app.cli.add_command(tracktrace_cli)
    app.cli.add_command(holds_cli)
    app.cli.add_command(mail_cli)
