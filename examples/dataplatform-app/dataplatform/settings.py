"""Settings from the environment, under the names the stackport manifests (and compose) provide.

DATABASE_URL            postgresql://USER:PASSWORD@HOST:PORT/DB (the app database; read-only login for the dashboard)
FEATURES_DATABASE_URL   the same for the features database (worker: read-write, dashboard: read-only)
REDIS_URL               redis://:PASSWORD@HOST:PORT/DB
API_URL                 http://HOST:PORT of the API (dashboard)
RETENTION_DAYS          observations older than this are deleted by the retention task
FRED_API_KEY            fetch from FRED instead of generating data (empty or a placeholder: generate)
LOG_LEVEL               debug, info, warning, error
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass


class SettingsError(ValueError):
    """A variable is missing or malformed; the message names it and what is expected."""


def required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is not set (expected a connection URL)")
    return value


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"environment variable {name}={raw!r} is not an integer") from None
    if value < minimum:
        raise SettingsError(f"environment variable {name}={value} must be at least {minimum}")
    return value


def api_key(name: str) -> str | None:
    """An external API key, or None when it is unset or a placeholder written by `stackport secrets`."""
    value = os.environ.get(name, "").strip()
    if not value or value.startswith("placeholder-"):
        return None
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str
    features_database_url: str | None
    redis_url: str | None
    api_url: str | None
    retention_days: int
    log_level: str

    @classmethod
    def from_env(cls, *, need_redis: bool = False, need_features: bool = False) -> "Settings":
        features = os.environ.get("FEATURES_DATABASE_URL", "").strip() or None
        redis_url = os.environ.get("REDIS_URL", "").strip() or None
        if need_features and not features:
            raise SettingsError("environment variable FEATURES_DATABASE_URL is not set (expected a connection URL)")
        if need_redis and not redis_url:
            raise SettingsError("environment variable REDIS_URL is not set (expected redis://:PASSWORD@HOST:PORT/DB)")
        level = os.environ.get("LOG_LEVEL", "info").strip().upper() or "INFO"
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise SettingsError(f"environment variable LOG_LEVEL={level.lower()!r} is not one of debug, info, warning, error")
        return cls(
            database_url=required("DATABASE_URL"),
            features_database_url=features,
            redis_url=redis_url,
            api_url=os.environ.get("API_URL", "").strip() or None,
            retention_days=_int("RETENTION_DAYS", 365, minimum=1),
            log_level=level,
        )


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
