"""`flask tracktrace ...`: status, relay, retry, reconcile, test, configure, cron, emulator."""

import time
from datetime import date, timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import or_, select

from extensions import db
from jobs.cron import scheduler, tick
from jobs.queues import redis_connection, wait_for_background
from jobs.reconcile import reconcile
from jobs.relay import relay
from models.compliance.commands import retry_report
from models.compliance.outbox import ComplianceReport, license_for, oldest_pending, status_counts
from models.rules.packs import load_pack
from models.stores.store import Store
from tracktrace.adapters import adapter_for
from tracktrace.addresses import OPERATOR_URL, is_known
from tracktrace.base import StateError
from tracktrace.emulator import Emulator
from tracktrace.emulator.seed import seed_from_database
from tracktrace.setup import configure

tracktrace_cli = AppGroup("tracktrace", help="Report to the state's track-and-trace systems.")


def find_store(key: str) -> Store:
    """Return a store by code, license number or state license; fail clearly otherwise."""
    store = db.session.scalar(
        select(Store).where(
            or_(Store.code == key, Store.license_number == key, Store.tracktrace_license == key)
        )
    )
    if store is None:
        raise click.ClickException(f"No store with code or license {key!r}.")
    return store


@tracktrace_cli.command("status")
def status_command() -> None:
    """Show each store's reporting status."""
    for store in db.session.scalars(select(Store).order_by(Store.code)):
        counts = status_counts(store.id)
        lane = license_for(store.id)
        head = oldest_pending(store.id)
        state = "PAUSED" if lane and lane.paused else "running"
        click.echo(
            f"{store.code} ({store.tracktrace_label}, license "
            f"{store.tracktrace_license or store.license_number}): {state}; "
            + ", ".join(f"{name} {count}" for name, count in counts.items())
        )
        if lane and lane.paused:
            click.echo(f"  paused: {lane.pause_reason}")
        if head is not None:
            deadline = (
                f"{head.deadline_at.astimezone(store.zone):%Y-%m-%d %H:%M %Z}"
                if head.deadline_at
                else "none"
            )
            click.echo(
                f"  oldest pending: #{head.id} {head.label}, {head.attempts} tries, "
                f"deadline {deadline}"
            )
            if head.last_error:
                click.echo(f"  last error: {head.last_error}")


@tracktrace_cli.command("relay")
def relay_command() -> None:
    """Re-enqueue (or, without Redis, send) every license's due reports."""
    counts = relay()
    click.echo(", ".join(f"{key} {value}" for key, value in counts.items()))


@tracktrace_cli.command("retry")
@click.argument("report_id", type=int)
def retry_command(report_id: int) -> None:
    """Put a report back in the queue (it asks the state first, so it is never doubled)."""
    report = db.session.get(ComplianceReport, report_id)
    if report is None:
        raise click.ClickException(f"No report #{report_id}.")
    if report.status == "sent":
        raise click.ClickException(f"Report #{report_id} was already sent.")
    retry_report(report, None, reason="Retried from the command line.")
    db.session.commit()
    wait_for_background()
    db.session.expire_all()
    report = db.session.get_one(ComplianceReport, report_id)
    click.echo(f"Report #{report.id}: {report.status}. {report.last_error or ''}".strip())


@tracktrace_cli.command("reconcile")
@click.argument("store_key")
@click.argument("day", required=False)
def reconcile_command(store_key: str, day: str | None) -> None:
    """Compare the state's receipts for a business day (default: yesterday) with ours."""
    store = find_store(store_key)
    when = date.fromisoformat(day) if day else store.business_date() - timedelta(days=1)
    run = reconcile(store, when)
    if run.error:
        raise click.ClickException(run.error)
    click.echo(
        f"{store.code} {when}: state {run.state_receipts}, ours {run.our_receipts}, "
        f"matched {run.matched}, differences {run.differences}"
    )
    for item in run.items:
        click.echo(f"  {item.kind} {item.key}: {item.detail}")


@tracktrace_cli.command("test")
@click.argument("store_key")
def test_command(store_key: str) -> None:
    """Check a store's connection and credentials with its state system."""
    store = find_store(store_key)
    try:
        click.echo(adapter_for(store).test_connection())
    except StateError as problem:
        raise click.ClickException(problem.message) from None


@tracktrace_cli.command("configure")
@click.argument("license_number")
@click.option("--system", type=click.Choice(["metrc", "biotrack", "dryrun"]), required=True)
@click.option("--url", default="", help="Base URL: production, a state sandbox or the emulator.")
@click.option("--vendor-key", default=None, help="Metrc integrator (vendor) key.")
@click.option("--user-key", default=None, help="Metrc user key.")
@click.option("--username", default=None, help="BioTrack username.")
@click.option("--password", default=None, help="BioTrack password.")
@click.option("--ubi", default=None, help="BioTrack company UBI / license number.")
@click.option("--api", type=click.Choice(["v3", "legacy"]), default=None, help="BioTrack API.")
def configure_command(license_number, system, url, vendor_key, user_key, username, password,
                      ubi, api) -> None:  # fmt: skip
    """Point a store at production, a state sandbox or the emulator (credentials are encrypted)."""
    store = find_store(license_number)
    url = url.strip().rstrip("/")
    if url and not OPERATOR_URL.match(url):
        raise click.UsageError("Give --url as an http:// or https:// address (no user or query).")
    if system == "dryrun":
        store.tracktrace_dry_run = True
        db.session.commit()
        click.echo(f"{store.code}: dry run (payloads are recorded, nothing is sent).")
        return
    if system == "metrc":
        if not (vendor_key and user_key):
            raise click.UsageError("Metrc needs --vendor-key and --user-key.")
        credentials = {"vendor_key": vendor_key, "user_key": user_key}
    else:
        if not (username and password and ubi):
            raise click.UsageError("BioTrack needs --ubi, --username and --password.")
        credentials = {"ubi": ubi, "username": username, "password": password}
        if api:
            credentials["api"] = api
    configure(store, system=system, url=url, credentials=credentials)
    db.session.commit()
    # The credentials themselves are never echoed or logged.
    click.echo(f"{store.code}: reports go to {store.tracktrace_label} at {url or 'the default'}.")
    if url and not is_known(store, url):
        state = load_pack(store.rule_pack).name
        click.echo(
            f"Note: {url} is not one of {state}'s known {store.tracktrace_label} addresses; "
            "the back office shows it as set by the operator."
        )


@tracktrace_cli.command("cron")
@click.option("--interval", default=60.0, help="Seconds between ticks without Redis.")
@click.option("--once", is_flag=True, help="Run every periodic job here once and stop.")
def cron_command(interval: float, once: bool) -> None:
    """Schedule the periodic jobs (the relays, hold release, nightly reconciliation) with RQ."""
    connection = redis_connection()
    if connection is not None and not once:
        scheduler(connection).start()
        return
    # The embedded mode has no Redis and no worker: the jobs run here, one tick at a time.
    while True:
        tick()
        if once:
            return
        time.sleep(interval)


@tracktrace_cli.command("emulator")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8700)
@click.option(
    "--seed/--no-seed", default=True, help="Load the stores' licenses, packages and medical cards."
)
def emulator_command(host: str, port: int, seed: bool) -> None:
    """Serve loopback Metrc v2 and BioTrack APIs (with fault injection) for trials."""
    emulator = Emulator(host=host, port=port)
    if seed:
        for line in seed_from_database(emulator.world):
            click.echo(line)
    emulator.start()
    click.echo(f"Emulator on {emulator.url} (BioTrack legacy at {emulator.legacy_url}).")
    click.echo("Point a store at it with `flask tracktrace configure LICENSE --url ...`.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emulator.stop()
