"""Fault drills with a real Redis and real `flask worker` processes against the emulator."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from tracktrace_support import FAST, complete_sale, metrc_tag, point_at_metrc, stock

from extensions import db
from jobs.relay import relay
from models.compliance.outbox import ComplianceReport, queue_report
from support import base_config
from tracktrace.emulator import Emulator

# Worker processes run on the real clock, which --clock cannot reach; leases compare across both.
pytestmark = pytest.mark.real_clock

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3.0


@pytest.fixture
def app_config(database_uri):
    config = base_config(database_uri)
    config.update(FAST, TRACKTRACE_LEASE_SECONDS=LEASE_SECONDS, TRACKTRACE_READ_TIMEOUT=30.0)
    return config


@pytest.fixture
def emulator():
    with Emulator() as emu:
        yield emu


@pytest.fixture
def redis_app(app, redis_server):
    app.config["REDIS_URL"] = redis_server
    return app


def worker_env(app_config, redis_server, tmp_path) -> dict:
    env = {
        "DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_server,
        "SECRET_KEY": app_config["SECRET_KEY"],
        "FIELD_ENCRYPTION_KEY": app_config["FIELD_ENCRYPTION_KEY"],
        "PISTIL_INSTANCE": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}",
        "LOG_LEVEL": "WARNING",
    }
    env.update(
        {key: str(value) for key, value in app_config.items() if key.startswith("TRACKTRACE_")}
    )
    return env


def start_worker(env: dict, *, burst: bool) -> subprocess.Popen:
    args = [sys.executable, "-m", "flask", "--app", "app", "worker", "reports"]
    if burst:
        args.insert(-1, "--burst")
    # Its own process group, so kill -9 takes the RQ work-horse child down with it.
    return subprocess.Popen(
        args,
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_burst(env: dict, timeout: float = 120) -> None:
    worker = start_worker(env, burst=True)
    output, _ = worker.communicate(timeout=timeout)
    assert worker.returncode == 0, output[-3000:]


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def statuses(ids) -> list[str]:
    db.session.rollback()
    rows = db.session.query(ComplianceReport).filter(ComplianceReport.id.in_(ids)).all()
    statuses_ = [row.status for row in rows]
    db.session.rollback()
    return statuses_


def test_flushall_with_100_pending_reports_loses_none(
    redis_app, app_config, redis_server, make_store, emulator, tmp_path
):
    stores = [point_at_metrc(make_store(), emulator) for _ in range(2)]
    ids, numbers = [], {}
    for n, store in enumerate(stores):
        package = stock(store, emulator, metrc_tag(n), 100)
        for _ in range(50):
            order = complete_sale(store, [(package, 1, 100)])
            ids.append(queue_report("sale", store, order=order).id)
        numbers[store.license_number] = None
    db.session.commit()
    connection = Redis.from_url(redis_server)
    assert Queue("reports", connection=connection).count == 100
    connection.flushall()
    assert Queue("reports", connection=connection).count == 0

    counts = relay()
    assert counts["enqueued"] == 2, counts  # one sender per license drains it in order
    env = worker_env(app_config, redis_server, tmp_path)
    run_burst(env)
    # On a loaded machine a sender can find its license's lane still leased and step back;
    # the relay (every minute in production) picks the rest up, as it would after a crash.
    for _ in range(4):
        if statuses(ids) == ["sent"] * 100:
            break
        relay()
        run_burst(env)
    assert statuses(ids) == ["sent"] * 100
    for license_number in numbers:
        external = [r["ExternalReceiptNumber"] for r in emulator.world.receipts(license_number)]
        assert len(external) == 50 and len(set(external)) == 50
        assert external == sorted(external, key=int), "sent in the order they were sold"


@pytest.mark.parametrize("landed", [False, True], ids=["before-accept", "after-accept"])
def test_kill_9_mid_report_then_restart_records_the_sale_exactly_once(
    redis_app, app_config, redis_server, store, emulator, tmp_path, landed
):
    point_at_metrc(store, emulator)
    license_number = store.license_number
    package = stock(store, emulator, metrc_tag(1), 10)
    env = worker_env(app_config, redis_server, tmp_path)
    emulator.fail("hang", match="POST /sales", landed=landed, hang_seconds=30)
    order = complete_sale(store, [(package, 1, 100)])
    report_id = queue_report("sale", store, order=order).id
    db.session.commit()

    worker = start_worker(env, burst=False)
    try:
        wait_for(lambda: emulator.world.requests("POST", "/sales/v2/receipts"))
        accepted = len(emulator.world.receipts(license_number))
        assert accepted == (1 if landed else 0)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    assert statuses([report_id]) == ["pending"]

    # The killed sender's lease runs out; the relay finds the orphaned job and enqueues anew.
    time.sleep(LEASE_SECONDS + 0.5)
    assert relay()["enqueued"] == 1
    run_burst(env)
    assert statuses([report_id]) == ["sent"]
    receipts = emulator.world.receipts(license_number, external_number=str(order.id))
    assert len(receipts) == 1, "recorded exactly once"
    lookups = emulator.world.requests("GET", f"/sales/v2/receipts/external/{order.id}")
    assert len(lookups) == 1, "the restarted sender asked the state before sending"
    assert len(emulator.world.requests("POST", "/sales/v2/receipts")) == (1 if landed else 2)


def test_two_workers_on_one_license_never_send_at_once(
    redis_app, app_config, redis_server, store, emulator, tmp_path
):
    point_at_metrc(store, emulator)
    license_number = store.license_number
    package = stock(store, emulator, metrc_tag(2), 100)
    emulator.fail("hang", match="POST /sales", landed=True, hang_seconds=0.05, times=None)
    ids = []
    for _ in range(20):
        order = complete_sale(store, [(package, 1, 100)])
        ids.append(queue_report("sale", store, order=order).id)
    db.session.commit()
    env = worker_env(app_config, redis_server, tmp_path)
    workers = [start_worker(env, burst=True) for _ in range(2)]
    for worker in workers:
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, output[-3000:]
    assert statuses(ids) == ["sent"] * 20
    assert emulator.world.max_in_flight[license_number] == 1
    assert len(emulator.world.receipts(license_number)) == 20


def test_relay_and_cron_carry_on_once_a_killed_workers_execution_expired(
    redis_app, app_config, redis_server, store, emulator, tmp_path
):
    """RQ 3 lists a killed worker's execution for a minute after its record expires."""
    from jobs.cron import tick

    point_at_metrc(store, emulator)
    license_number = store.license_number
    package = stock(store, emulator, metrc_tag(3), 10)
    env = worker_env(app_config, redis_server, tmp_path)
    emulator.fail("hang", match="POST /sales", landed=False, hang_seconds=30)
    order = complete_sale(store, [(package, 1, 100)])
    report_id = queue_report("sale", store, order=order).id
    db.session.commit()

    worker = start_worker(env, burst=False)
    try:
        wait_for(lambda: emulator.world.requests("POST", "/sales/v2/receipts"))
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    connection = Redis.from_url(redis_server)
    executions = list(connection.scan_iter("rq:execution:*"))
    assert executions, "the killed worker left its execution behind"
    # What Redis does once the execution's heartbeat TTL runs out (90 s or more after the kill);
    # the job's execution registry keeps listing it for another minute.
    connection.delete(*executions)
    time.sleep(LEASE_SECONDS + 0.5)

    done = tick()
    assert done["relay"]["enqueued"] == 1, done
    assert relay()["alive"] == 1, "the new job is queued; the relay leaves it alone"
    run_burst(env)
    assert statuses([report_id]) == ["sent"]
    assert len(emulator.world.receipts(license_number, external_number=str(order.id))) == 1
