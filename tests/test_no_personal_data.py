"""No personal data in logs, access logs, job arguments or Redis: a run of the main flows leaves
no trace of the customer's e-mail, name, card or ID number, nor a live password reset link."""

import contextlib
import logging
import smtplib
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from flows_support import CARD, EMAIL, FIRST, ID_NUMBER, LAST, run_all, set_up
from redis import Redis
from rq.job import Job

from extensions import db
from models.compliance.commands import pause_by_hand

ROOT = Path(__file__).resolve().parent.parent
access_log = logging.getLogger("pistil.test.access")


class AccessLog:
    """Log each request line as a web server's access log does (method, path, query, status)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        def logged(status, headers, *args):
            query = environ.get("QUERY_STRING")
            target = environ["PATH_INFO"] + (f"?{query}" if query else "")
            access_log.info('"%s %s" %s', environ["REQUEST_METHOD"], target, status.split()[0])
            return start_response(status, headers, *args)

        return self.wsgi_app(environ, logged)


@pytest.fixture
def counter(app, store, make_user, make_customer, login_as):
    return set_up(app, store, make_user, make_customer, login_as)


def secrets_of(counter, done: dict) -> dict[str, str]:
    """Everything personal or secret the flows handled, by what it is."""
    manager_email = counter.manager.email
    # End the read: on SQLite it would lock a worker process out.
    db.session.rollback()
    return {
        "e-mail": EMAIL,
        "first name": FIRST,
        "last name": LAST,
        "ID number": ID_NUMBER,
        "medical card": CARD,
        "reset link": done["reset_token"],
        "manager's e-mail": manager_email,
    }


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    lowered = text.lower()
    return [what for what, value in secrets.items() if value.lower() in lowered]


def everything_logged(caplog) -> str:
    lines = []
    for record in caplog.records:
        lines.append(f"{record.name} {record.getMessage()}")
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


@pytest.mark.parametrize("smtp", ["no SMTP", "SMTP"])
def test_the_logs_of_the_main_flows_hold_no_personal_data(app, counter, caplog, monkeypatch, smtp):
    for logger in logging.root.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            logger.disabled = False
    caplog.set_level(logging.DEBUG)
    app.wsgi_app = AccessLog(app.wsgi_app)
    sent = []
    if smtp == "SMTP":

        class FakeSMTP:
            def __init__(self, *args, **kwargs):
                pass

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def send_message(self, message):
                sent.append(message)

        monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
        app.config["SMTP_URL"] = "smtp://mail.example:25"

    done = run_all(counter)
    # An alert mails the store's managers (staff addresses are personal data too).
    pause_by_hand(counter.store.id, counter.manager.id, "Rotating the keys")
    db.session.commit()

    secrets = secrets_of(counter, done)
    logged = everything_logged(caplog)
    assert "pistil.test.access" in logged and "pistil.mail" in logged, "the run was logged"
    assert leaks(logged, secrets) == [], logged[-3000:]
    if smtp == "SMTP":
        # The mails themselves did go out, with what they are for.
        bodies = " ".join(message.get_content() for message in sent)
        assert done["reset_token"] in bodies
        assert {message["To"] for message in sent} == {EMAIL, counter.manager.email}


def redis_contents(connection: Redis) -> str:
    """Return every value in the Redis database as text, job payloads decompressed."""
    parts = []
    for key in connection.scan_iter():
        kind = connection.type(key).decode()
        if kind == "string":
            values = [connection.get(key)]
        elif kind == "hash":
            values = list(connection.hgetall(key).values())
        elif kind == "list":
            values = connection.lrange(key, 0, -1)
        elif kind == "set":
            values = list(connection.smembers(key))
        elif kind == "zset":
            values = connection.zrange(key, 0, -1)
        else:
            values = []
        parts.append(key.decode())
        for value in values:
            with contextlib.suppress(zlib.error):
                value = zlib.decompress(value)
            parts.append(value.decode("utf-8", "replace"))
    return "\n".join(parts)


@pytest.mark.real_clock
def test_jobs_carry_only_ids_and_neither_redis_nor_the_worker_log_holds_personal_data(
    app, app_config, counter, redis_server, tmp_path
):
    app.config["REDIS_URL"] = redis_server
    done = run_all(counter)
    pause_by_hand(counter.store.id, counter.manager.id, "Rotating the keys")
    db.session.commit()
    secrets = secrets_of(counter, done)
    connection = Redis.from_url(redis_server)

    job_ids = [key.decode().removeprefix("rq:job:") for key in connection.scan_iter("rq:job:*")]
    jobs = [Job.fetch(job_id, connection=connection) for job_id in job_ids]
    assert len(jobs) >= 8, job_ids  # four reports, a placed, a ready, a reset and an alert mail
    for job in jobs:
        assert all(type(arg) is int for arg in job.args) and not job.kwargs, job.description
    assert leaks(redis_contents(connection), secrets) == []

    env = {
        "DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_server,
        "SECRET_KEY": app_config["SECRET_KEY"],
        "FIELD_ENCRYPTION_KEY": app_config["FIELD_ENCRYPTION_KEY"],
        "PISTIL_INSTANCE": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}",
        "LOG_LEVEL": "DEBUG",
    }
    worker = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "worker", "--burst"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    output = worker.stdout + worker.stderr
    assert worker.returncode == 0, output[-2000:]
    assert "send_mail" in output, "the worker logged the jobs it ran"
    assert leaks(output, secrets) == [], output[-3000:]
    assert leaks(redis_contents(connection), secrets) == []
