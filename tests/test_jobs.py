"""Jobs leave only after their transaction commits: inline without Redis, through RQ with it."""

import subprocess
import sys
import time
from pathlib import Path

from redis import Redis
from rq import Queue, SimpleWorker
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from extensions import db
from jobs.queues import enqueue_after_commit
from models.infra.audit import AuditEvent, record

ROOT = Path(__file__).resolve().parent.parent
RAN: list[str] = []


def note(label: str) -> None:
    """A job that records that it ran."""
    RAN.append(label)


def write_audit(label: str) -> None:
    """A job that writes in its own app context and session."""
    from jobs.context import in_app_context

    @in_app_context
    def run():
        record("job.ran", reason=label)
        db.session.commit()

    run()


def test_inline_job_runs_only_after_commit(app, store):
    RAN.clear()
    record("before", store_id=store.id)
    enqueue_after_commit(note, "committed")
    assert RAN == []
    db.session.commit()
    assert RAN == ["committed"]


def test_rolled_back_transaction_sends_no_job(app, store):
    RAN.clear()
    enqueue_after_commit(note, "rolled back")
    db.session.rollback()
    db.session.commit()
    assert RAN == []


def test_inline_job_has_its_own_session(app, store):
    record("outer", store_id=store.id)
    enqueue_after_commit(write_audit, "inline")
    db.session.commit()
    assert db.session.query(AuditEvent).filter_by(action="job.ran", reason="inline").count() == 1


def test_with_redis_the_job_is_queued_after_commit_with_its_id(app, redis_server, store):
    app.config["REDIS_URL"] = redis_server
    queue = Queue("default", connection=Redis.from_url(redis_server))
    enqueue_after_commit(note, "queued", job_id="note-1")
    assert queue.count == 0
    db.session.commit()
    assert queue.job_ids == ["note-1"]
    enqueue_after_commit(note, "dropped", job_id="note-2")
    db.session.rollback()
    assert queue.job_ids == ["note-1"]


def fail(label: str) -> None:
    """A job that breaks."""
    raise RuntimeError(label)


def test_a_failed_job_is_left_to_its_outbox_not_retried_by_rq(app, redis_server, store):
    # Reports and mail keep their own backoff and the relay re-sends from their rows; an RQ
    # retry on top would send again on its own clock, past a paused lane or a Retry-After.
    app.config["REDIS_URL"] = redis_server
    connection = Redis.from_url(redis_server)
    enqueue_after_commit(fail, "broken", job_id="broken-1")
    db.session.commit()
    queue = Queue("default", connection=connection)
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert FailedJobRegistry(queue=queue).get_job_ids() == ["broken-1"]
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == []
    assert queue.count == 0


def test_flask_worker_runs_queued_jobs_in_the_app(app, app_config, redis_server, store, tmp_path):
    """Start the real `flask worker --burst` process against the real Redis."""
    app.config["REDIS_URL"] = redis_server
    enqueue_after_commit(write_audit, "from-worker", job_id="audit-worker")
    record("outer", store_id=store.id)
    db.session.commit()
    env = {
        "DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_server,
        "SECRET_KEY": "test-secret-key",
        "FIELD_ENCRYPTION_KEY": app_config["FIELD_ENCRYPTION_KEY"],
        "PISTIL_INSTANCE": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "worker", "--burst", "default"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    db.session.expire_all()
    assert db.session.query(AuditEvent).filter_by(reason="from-worker").count() == 1


def test_worker_without_redis_explains_itself(runner, app):
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output


def test_two_cron_schedulers_enqueue_each_periodic_job_once_a_tick(app, redis_server):
    from jobs.cron import PERIODIC, scheduler

    if time.time() % 60 > 50:
        # Both schedulers must see the same minute: wait out the turn of it.
        time.sleep(61 - time.time() % 60)
    connection = Redis.from_url(redis_server)
    first, second = scheduler(connection), scheduler(connection)
    first.enqueue_jobs()
    second.enqueue_jobs()
    queued = Queue("default", connection=connection).job_ids
    minute = int(time.time()) // 60 * 60
    assert sorted(queued) == sorted(f"cron-{job.name}-{minute}" for job in PERIODIC)
