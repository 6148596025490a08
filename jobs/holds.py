"""Release online holds whose time is up, and mark their orders expired.

Expired holds never count against stock (every reader filters on expires_at), so the menu is right
even if this job is late; the job writes the orders' "expired" status and tidies the holds.
"""

import logging

import click
from flask.cli import AppGroup

from extensions import db
from jobs.context import in_app_context
from models.online.checkout import release_expired

log = logging.getLogger("pistil.holds")
JOB_ID = "holds-release"


@in_app_context
def release_expired_holds() -> int:
    """Expire the online orders past their hold deadline and release their stock; return count."""
    count = release_expired()
    db.session.commit()
    if count:
        log.info("released the holds of %d expired online order(s)", count)
    return count


holds_cli = AppGroup("holds", help="Online order stock holds.")


@holds_cli.command("release")
def release_command() -> None:
    """Release expired holds now and mark their orders expired."""
    count = release_expired_holds()
    click.echo(f"Expired {count} online order(s) and released their holds.")
