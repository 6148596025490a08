"""Settings read from the environment, with safe defaults for the embedded (demo) mode."""

import base64
import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

INSTANCE_DIR = Path(os.environ.get("PISTIL_INSTANCE", Path(__file__).parent / "instance"))


def _instance_secret(name: str, make) -> str:
    """Return a secret kept in instance/secrets.json, creating it once with private permissions."""
    path = INSTANCE_DIR / "secrets.json"
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    stored = json.loads(path.read_text()) if path.exists() else {}
    if name not in stored:
        stored[name] = make()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(stored, fh, indent=2)
    return stored[name]


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load(overrides: dict | None = None) -> dict:
    """Build the configuration mapping from the environment and optional overrides."""
    overrides = overrides or {}
    env = os.environ
    database_url = overrides.get("SQLALCHEMY_DATABASE_URI") or env.get("DATABASE_URL")
    if not database_url:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{INSTANCE_DIR / 'pistil.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")

    secret_key = overrides.get("SECRET_KEY") or env.get("SECRET_KEY")
    if not secret_key:
        secret_key = _instance_secret("SECRET_KEY", lambda: secrets.token_urlsafe(48))
    field_key = overrides.get("FIELD_ENCRYPTION_KEY") or env.get("FIELD_ENCRYPTION_KEY")
    if not field_key:
        field_key = _instance_secret(
            "FIELD_ENCRYPTION_KEY", lambda: base64.urlsafe_b64encode(os.urandom(32)).decode()
        )

    redis_url = overrides.get("REDIS_URL", env.get("REDIS_URL") or None)
    secure_cookies = _flag("SESSION_COOKIE_SECURE", False)
    config = {
        "SECRET_KEY": secret_key,
        "FIELD_ENCRYPTION_KEY": field_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SQLITE_BUSY_TIMEOUT_MS": int(env.get("SQLITE_BUSY_TIMEOUT_MS", "15000")),
        "REDIS_URL": redis_url,
        "RQ_QUEUES": ["reports", "default"],
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Redis down must not stop sign-in or PIN entry: limits are then kept in this process's
        # memory (logged once) until Redis answers again.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "pistil"),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "5 per minute"),
        "PIN_RATE_LIMIT": env.get("PIN_RATE_LIMIT", "5 per minute"),
        "PIN_LOCK_AFTER": int(env.get("PIN_LOCK_AFTER", "5")),
        "PIN_LOCK_MINUTES": int(env.get("PIN_LOCK_MINUTES", "15")),
        "PASSWORD_LOCK_AFTER": int(env.get("PASSWORD_LOCK_AFTER", "20")),
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_IDLE_MINUTES": int(env.get("SESSION_IDLE_MINUTES", "30")),
        "SESSION_ABSOLUTE_HOURS": int(env.get("SESSION_ABSOLUTE_HOURS", "12")),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=int(env.get("SESSION_ABSOLUTE_HOURS", "12"))),
        "REGISTER_IDLE_LOCK_SECONDS": int(env.get("REGISTER_IDLE_LOCK_SECONDS", "300")),
        "HSTS": secure_cookies,
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
    }
    config.update(overrides)
    return config
