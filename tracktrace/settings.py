"""Reporting settings: the app's config first, then the environment, then a safe default."""

import os

from flask import current_app, has_app_context

DEFAULTS = {
    # Seconds to wait for a connection, and for an answer, from a state system.
    "TRACKTRACE_CONNECT_TIMEOUT": 5.0,
    "TRACKTRACE_READ_TIMEOUT": 30.0,
    # Seconds a budtender waits for the state's answer to a medical card lookup at the counter.
    "TRACKTRACE_LOOKUP_TIMEOUT": 10.0,
    # Requests per second one license may make (self-imposed; Metrc allows far more GETs).
    "TRACKTRACE_RATE_PER_LICENSE": 5.0,
    # How long a sender's claim on a license lasts without renewal (> one request's timeouts).
    "TRACKTRACE_LEASE_SECONDS": 90.0,
    # Backoff after a failed try: first wait, and the longest wait.
    "TRACKTRACE_BACKOFF_SECONDS": 30.0,
    "TRACKTRACE_BACKOFF_CAP_SECONDS": 1800.0,
    # Give up (dead) this long after the state's deadline.
    "TRACKTRACE_GIVE_UP_AFTER_DEADLINE_HOURS": 24.0,
    # A sender hands the license on after this long: other licenses get a turn on few workers,
    # and no job runs near RQ's timeout.
    "TRACKTRACE_DRAIN_SECONDS": 10.0,
    # Warn across the back office this long before the oldest report's deadline.
    "TRACKTRACE_WARN_BEFORE_DEADLINE_MINUTES": 120.0,
}


def setting(name: str) -> float:
    """Return a numeric reporting setting."""
    if has_app_context() and name in current_app.config:
        return float(current_app.config[name])
    if name in os.environ:
        return float(os.environ[name])
    return float(DEFAULTS[name])
