"""Settings come from the environment; secrets are generated once per installation."""

import stat

import config


def test_secrets_are_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FIELD_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path / "one")
    first = config.load()
    again = config.load()
    assert first["SECRET_KEY"] == again["SECRET_KEY"]
    assert first["FIELD_ENCRYPTION_KEY"] == again["FIELD_ENCRYPTION_KEY"]
    secrets_file = tmp_path / "one" / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'one' / 'pistil.db'}"

    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path / "two")
    other = config.load()
    assert other["SECRET_KEY"] != first["SECRET_KEY"]
    assert other["FIELD_ENCRYPTION_KEY"] != first["FIELD_ENCRYPTION_KEY"]


def test_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("DATABASE_URL", "postgresql://pistil@db.internal/pistil")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    loaded = config.load()
    assert loaded["SECRET_KEY"] == "from-env"
    assert loaded["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://pistil@db.internal/pistil"
    assert loaded["REDIS_URL"] == "redis://127.0.0.1:6379/3"
    assert loaded["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"


def test_without_redis_jobs_run_inline_and_limits_stay_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.delenv("REDIS_URL", raising=False)
    loaded = config.load()
    assert loaded["REDIS_URL"] is None
    assert loaded["RATELIMIT_STORAGE_URI"] == "memory://"
