"""`flask worker`: an RQ worker with the scheduler, running inside the app so jobs have it."""

import click
from flask import current_app
from flask.cli import with_appcontext
from rq import Worker

from jobs.queues import redis_connection
from jobs.reports import warm_up


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.argument("queues", nargs=-1)
@with_appcontext
def worker_command(burst: bool, queues: tuple[str, ...]) -> None:
    """Start an RQ worker (with scheduler) on the configured queues."""
    connection = redis_connection()
    if connection is None:
        raise click.ClickException(
            "REDIS_URL is not set: without Redis, jobs run inline and no worker is needed."
        )
    names = list(queues) or current_app.config["RQ_QUEUES"]
    # RQ forks per job: compile the ORM's statements once here so each fork starts warm.
    warm_up()
    worker = Worker(names, connection=connection)
    worker.work(with_scheduler=True, burst=burst)
