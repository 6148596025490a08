"""What the app benchmarks share: the bench database, the app's settings for it, percentiles."""

import tempfile
import uuid

from sqlalchemy import create_engine, text

FIELD_KEY = "YmVuY2gtZmllbGQta2V5LWJlbmNoLWZpZWxkLWtleTE="


def psycopg(url: str) -> str:
    """Return a SQLAlchemy URL that uses psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def config(url: str, redis_url: str | None = None) -> dict:
    """Return app settings for the bench database."""
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench-secret",
        "FIELD_ENCRYPTION_KEY": FIELD_KEY,
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_KEY_PREFIX": f"bench-{uuid.uuid4().hex[:6]}",
        "LOG_LEVEL": "WARNING",
        "SERVER_NAME": None,
    }


def fresh_database(url: str | None) -> str:
    """Return an empty database URL: a temporary SQLite file, or the PostgreSQL one wiped."""
    if not url:
        return f"sqlite:///{tempfile.mkdtemp(prefix='pistil-bench-')}/bench.db"
    url = psycopg(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def percentile(values: list[float], p: float) -> float:
    """Return the nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]
