"""Redis down, or gone mid-run: every sale commits and answers, nothing owed is lost, and the
relay sends it all once Redis is back."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flows_support import (
    CARD,
    EMAIL,
    FIRST,
    ID_NUMBER,
    LAST,
    online_order,
    run_all,
    set_up,
    void,
    walk_in_sale,
)
from redis import Redis
from rq import Queue
from sqlalchemy import select
from storefront_support import enable_logs

from extensions import db
from jobs.mail import relay_mail
from jobs.relay import relay
from models.compliance.outbox import ComplianceReport
from models.infra.mail import OutboxMail

ROOT = Path(__file__).resolve().parent.parent
PERSONAL = (EMAIL, FIRST, LAST, ID_NUMBER, CARD)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def counter(app, store, make_user, make_customer, login_as):
    return set_up(app, store, make_user, make_customer, login_as)


def report_statuses() -> dict[str, list[str]]:
    db.session.expire_all()
    found: dict[str, list[str]] = {}
    for report in db.session.scalars(select(ComplianceReport).order_by(ComplianceReport.id)):
        found.setdefault(report.kind, []).append(report.status)
    db.session.rollback()
    return found


def mails() -> list[tuple[str, str]]:
    db.session.expire_all()
    rows = [(m.ref, m.status) for m in db.session.scalars(select(OutboxMail).order_by("id"))]
    db.session.rollback()
    return rows


def test_with_redis_down_every_sale_commits_and_the_relay_sends_it_later(app, counter, caplog):
    enable_logs(caplog, "pistil.jobs", "pistil.mail")
    # Nothing listens on this port: every enqueue is refused.
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"

    done = run_all(counter)

    assert report_statuses() == {
        "sale": ["pending", "pending"],
        "void": ["pending"],
        "return": ["pending"],
    }
    online = done["online"]
    assert [ref for ref, status in mails() if status == "pending"] == [
        f"order-{online}-placed",
        f"order-{online}-ready",
        f"customer-{counter.customer.id}-reset",
    ]
    refused = [r for r in caplog.records if "not started after commit" in r.getMessage()]
    assert len(refused) >= 7, [r.getMessage() for r in refused]
    assert all("ConnectionError" in r.getMessage() for r in refused)
    said = caplog.text.lower()
    assert not [secret for secret in PERSONAL if secret.lower() in said]

    # Redis is back (here the embedded mode, which sends at once): the relay sends everything.
    app.config["REDIS_URL"] = None
    db.session.rollback()
    assert relay()["drained"] == 1
    assert relay_mail()["sent"] == 0, "no SMTP here: each mail is noted as not sent"
    assert report_statuses() == {"sale": ["sent", "sent"], "void": ["sent"], "return": ["sent"]}
    assert [status for _, status in mails()] == ["skipped"] * 3


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of our own on a free port, that the test can stop and start again."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()

    class Server:
        url = f"redis://127.0.0.1:{port}/0"
        process: subprocess.Popen | None = None

        def start(self):
            self.process = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(tmp_path)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            deadline = time.monotonic() + 10
            while True:
                try:
                    Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                    return
                except OSError:
                    assert time.monotonic() < deadline, "redis-server did not start"
                    time.sleep(0.05)
                except Exception:  # noqa: BLE001 - redis-py wraps refusals in its own errors
                    assert time.monotonic() < deadline, "redis-server did not start"
                    time.sleep(0.05)

        def stop(self):
            self.process.kill()
            self.process.wait(10)

    server = Server()
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.mark.real_clock
def test_redis_going_away_mid_run_loses_nothing_and_a_worker_sends_it_after(
    app, app_config, counter, own_redis, tmp_path
):
    app.config["REDIS_URL"] = own_redis.url
    walk_in = walk_in_sale(counter)
    connection = Redis.from_url(own_redis.url)
    assert Queue("reports", connection=connection).job_ids == [f"report-{walk_in}"]

    own_redis.stop()
    online = online_order(counter)
    void(counter, walk_in)
    assert report_statuses() == {"sale": ["pending", "pending"], "void": ["pending"]}
    assert [status for _, status in mails()] == ["pending", "pending"]

    # Back, empty (it kept nothing): the relay gives the license one sender, and each mail a job.
    own_redis.start()
    assert relay()["enqueued"] == 1
    assert relay_mail()["enqueued"] == 2
    for job in Queue("default", connection=connection).jobs:
        assert all(isinstance(arg, int) for arg in job.args) and not job.kwargs

    env = {
        "DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": own_redis.url,
        "SECRET_KEY": app_config["SECRET_KEY"],
        "FIELD_ENCRYPTION_KEY": app_config["FIELD_ENCRYPTION_KEY"],
        "PISTIL_INSTANCE": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}",
    }
    worker = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "worker", "--burst"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert worker.returncode == 0, worker.stderr[-2000:]
    assert report_statuses() == {"sale": ["sent", "sent"], "void": ["sent"]}
    assert mails() == [(f"order-{online}-placed", "skipped"), (f"order-{online}-ready", "skipped")]
    said = (worker.stdout + worker.stderr).lower()
    assert not [secret for secret in PERSONAL if secret.lower() in said]


def test_the_cron_carries_on_while_redis_is_down(app, counter, caplog):
    from jobs.cron import tick

    enable_logs(caplog, "pistil.cron")
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    walk_in_sale(counter)
    db.session.rollback()
    done = tick()
    assert done["relay"] is None, done
    assert done["holds"] == 0 and done["overdue"] == [], "the other steps still ran"
    assert "cron: relay failed; the next tick tries again" in caplog.text
    assert report_statuses() == {"sale": ["pending"]}


def test_a_redis_that_stops_answering_holds_a_sale_up_for_seconds_not_forever(app, counter):
    # A listening socket nobody reads: connections are taken, commands never answered.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        app.config["REDIS_URL"] = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        started = time.monotonic()
        walk_in_sale(counter)
        assert time.monotonic() - started < 15
    assert report_statuses() == {"sale": ["pending"]}
